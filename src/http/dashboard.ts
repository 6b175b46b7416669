import { createRequire } from 'node:module'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import fastifyStatic from '@fastify/static'
import type { FastifyPluginAsync } from 'fastify'

/** Two levels up from both src/http and dist/http: the package root. */
const PACKAGE_ROOT = new URL('../../', import.meta.url)
/** index.html, style.css, favicon.svg: served as written. */
const PAGE_DIR = fileURLToPath(new URL('src/dashboard/public/', PACKAGE_ROOT))
/** The page's scripts, compiled from src/dashboard/*.ts by `npm run build`. */
const SCRIPT_DIR = fileURLToPath(new URL('dist/dashboard/', PACKAGE_ROOT))
/** uPlot's own files, from its npm package. */
const UPLOT_DIR = dirname(createRequire(import.meta.url).resolve('uplot/dist/uPlot.iife.min.js'))
const UPLOT_FILES = ['uPlot.iife.min.js', 'uPlot.min.css']

/**
 * The page needs nothing from another origin and runs no inline script; uPlot
 * styles its elements through the DOM (element.style), which style-src does not govern.
 */
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self'; connect-src 'self'; " +
    "object-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
}

/**
 * The live dashboard: the page at / and its files under /dashboard/. Static
 * files only: the page reads the same JSON API as any client, with the token
 * the user gives it. Every route here is marked `dashboardFile`, so the token
 * check (bearer-auth.ts) lets GET/HEAD of these files through without a token
 * (they hold no data, and the page must load before it can ask for one). Files are routes of their
 * own (found once at startup, no wildcard), so only files that exist are open.
 * Not wrapped in fastify-plugin: its hooks stay on its own routes.
 */
export const dashboardRoutes: FastifyPluginAsync = async (app) => {
  app.addHook('onRoute', (route) => {
    route.config = { ...route.config, dashboardFile: true }
  })
  app.addHook('onRequest', (_request, reply, done) => {
    reply.headers(SECURITY_HEADERS)
    done()
  })
  await app.register(fastifyStatic, {
    root: [SCRIPT_DIR, PAGE_DIR],
    prefix: '/dashboard/',
    wildcard: false,
    index: false,
  })
  app.get('/', { schema: { hide: true } }, (_request, reply) => reply.sendFile('index.html', PAGE_DIR))
  for (const file of UPLOT_FILES) {
    app.get(`/dashboard/vendor/${file}`, { schema: { hide: true } }, (_request, reply) => reply.sendFile(file, UPLOT_DIR))
  }
}

declare module 'fastify' {
  interface FastifyContextConfig {
    /** A dashboard file: readable without a token (see bearer-auth.ts). */
    dashboardFile?: boolean
  }
}

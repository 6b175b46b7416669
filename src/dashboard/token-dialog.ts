// Asks for a bearer token in the page's <dialog id="token-dialog"> (index.html).
import { type AskToken, type TokenRequest, tokenProblem } from './api.js'
import { byId } from './dom.js'

const REASONS: Record<TokenRequest, string> = {
  needed: 'This service needs a bearer token: AUTH_TOKEN, or READ_TOKEN (reading is all this page does).',
  refused: 'The service refused that token. Give AUTH_TOKEN, or READ_TOKEN (reading is all this page does).',
  unusable:
    'The token kept for this tab cannot be sent (only ASCII letters, digits and punctuation can). Give AUTH_TOKEN, or READ_TOKEN (reading is all this page does).',
}

export function tokenDialog(): AskToken {
  const dialog = byId('token-dialog', HTMLDialogElement)
  const form = byId('token-form', HTMLFormElement)
  const input = byId('token-input', HTMLInputElement)
  const reason = byId('token-reason', HTMLParagraphElement)
  const problem = byId('token-problem', HTMLParagraphElement)
  const cancel = byId('token-cancel', HTMLButtonElement)
  return (why) =>
    new Promise((resolve) => {
      reason.textContent = REASONS[why]
      problem.hidden = true
      input.value = ''
      const finish = (token: string | null) => {
        form.removeEventListener('submit', onSubmit)
        cancel.removeEventListener('click', onCancel)
        dialog.removeEventListener('cancel', onCancel)
        if (dialog.open) dialog.close()
        resolve(token)
      }
      const onSubmit = (event: SubmitEvent) => {
        event.preventDefault()
        const token = input.value.trim()
        if (token === '') return
        // A character no header can carry (a typographic quote from a copy, say) would fail
        // every request: say so here, while the person can still correct it.
        const unsendable = tokenProblem(token)
        if (unsendable === null) return finish(token)
        problem.textContent = `That token cannot be sent: ${unsendable}.`
        problem.hidden = false
        input.focus()
      }
      const onCancel = (event: Event) => {
        event.preventDefault()
        finish(null)
      }
      form.addEventListener('submit', onSubmit)
      cancel.addEventListener('click', onCancel)
      dialog.addEventListener('cancel', onCancel)
      dialog.showModal()
      input.focus()
    })
}

// Asks for a bearer token in the page's <dialog id="token-dialog"> (index.html).
import type { AskToken } from './api.js'
import { byId } from './dom.js'

export function tokenDialog(): AskToken {
  const dialog = byId('token-dialog', HTMLDialogElement)
  const form = byId('token-form', HTMLFormElement)
  const input = byId('token-input', HTMLInputElement)
  const reason = byId('token-reason', HTMLParagraphElement)
  const cancel = byId('token-cancel', HTMLButtonElement)
  return (refused) =>
    new Promise((resolve) => {
      reason.textContent = refused
        ? 'The service refused that token. Give AUTH_TOKEN, or READ_TOKEN (reading is all this page does).'
        : 'This service needs a bearer token: AUTH_TOKEN, or READ_TOKEN (reading is all this page does).'
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
        if (token !== '') finish(token)
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

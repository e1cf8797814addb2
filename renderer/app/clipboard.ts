// Copying text for the user, with a fallback where the async clipboard is not allowed.
import { notify } from './output';

export async function copyText(text: string, what: string): Promise<void> {
  try {
    await navigator.clipboard.writeText(text);
  } catch {
    const area = document.createElement('textarea');
    area.value = text;
    area.style.position = 'fixed';
    area.style.opacity = '0';
    document.body.appendChild(area);
    area.select();
    const ok = document.execCommand('copy');
    area.remove();
    if (!ok) {
      notify({ level: 'warning', title: `Could not copy the ${what}`, message: 'The browser refused access to the clipboard.', hint: 'Select the text and copy it by hand.' });
      return;
    }
  }
  notify({ level: 'info', title: 'Copied', message: `The ${what} is on the clipboard.` }, 2500);
}

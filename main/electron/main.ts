// Entry point of the Electron main process (bundled to dist/main/electron-main.cjs). Everything it
// does lives in desktop-app.ts so the lifecycle can be tested with `electron` mocked.
import { app, dialog } from 'electron';
import { startDesktopApp } from './desktop-app.js';

startDesktopApp()?.ready.catch((error: unknown) => {
  // Without this the app would sit windowless with the failure only in a terminal nobody sees.
  dialog.showErrorBox('Eddy could not start', error instanceof Error ? (error.stack ?? error.message) : String(error));
  app.exit(1);
});

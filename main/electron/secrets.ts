// The desktop app's secret store. Persistent secrets are encrypted with Electron safeStorage (OS
// keychain, DPAPI, libsecret or KWallet) and kept as base64 blobs in one JSON file under userData,
// keyed by reference name. When safeStorage would fall back to its hard-coded key (Linux
// `basic_text`) the store refuses to persist and offers session-only secrets, held in memory until
// Eddy quits. Values never appear in errors or logs; only reference names do.
import { safeStorage as electronSafeStorage, type SafeStorage } from 'electron';
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EddyError } from '../../shared/contract.js';

export type SafeStorageLike = Pick<
  SafeStorage,
  'isAsyncEncryptionAvailable' | 'encryptStringAsync' | 'decryptStringAsync' | 'getSelectedStorageBackend'
>;

export type SecretPersistence = 'encrypted' | 'session';

export interface SecretStorageStatus {
  /** Whether secrets can be saved encrypted on disk. */
  persistent: boolean;
  /** The Linux backend name, or the platform's store elsewhere (`keychain`, `dpapi`). */
  backend: string;
  /** Why persistence is unavailable, in words for the user. */
  reason?: string;
}

export interface SecretEntry {
  name: string;
  persistence: SecretPersistence;
}

export interface SecretStoreOptions {
  /** The JSON file holding encrypted blobs, e.g. `<userData>/secrets.json`. */
  filePath: string;
  safeStorage?: SafeStorageLike;
  platform?: NodeJS.Platform;
}

interface SavedSecret {
  ciphertext: string;
  updatedAt: number;
}

/** On disk: `{ "version": 1, "secrets": { "<name>": { "ciphertext": "<base64>", "updatedAt": <ms> } } }`. */
interface SecretFile {
  version: 1;
  secrets: Record<string, SavedSecret>;
}

// In memory the saved secrets are a Map, so a name such as `__proto__` is only ever a key.
type SavedSecrets = Map<string, SavedSecret>;

export const SECRETS_FILE_NAME = 'secrets.json';

// The contract's secret name (SecretNameSchema), as used in `${secret:NAME}` references.
const NAME_PATTERN = /^[A-Za-z_][A-Za-z0-9_.-]{0,127}$/;
const MAX_VALUE_LENGTH = 64 * 1024;

// Backends that do not protect the key: `basic_text` encrypts with a password compiled into
// Chromium, `unknown` means the backend was not chosen (called before ready) so nothing is known.
const UNSAFE_LINUX_BACKENDS = new Set(['basic_text', 'unknown']);

function checkName(name: unknown): string {
  if (typeof name !== 'string' || !NAME_PATTERN.test(name)) {
    throw new EddyError(
      'VALIDATION',
      'A secret name is 1-128 letters, digits, ".", "_" or "-", starting with a letter or "_".',
      { name: typeof name === 'string' ? name.slice(0, 128) : typeof name },
    );
  }
  return name;
}

function checkValue(value: unknown): string {
  if (typeof value !== 'string') throw new EddyError('VALIDATION', 'A secret value must be a string.');
  if (value.length > MAX_VALUE_LENGTH) throw new EddyError('LIMIT', `A secret value may be at most ${MAX_VALUE_LENGTH} characters.`);
  return value;
}

export class SecretStore {
  readonly #filePath: string;
  readonly #safeStorage: SafeStorageLike;
  readonly #platform: NodeJS.Platform;
  // Private fields so neither util.inspect nor a stray JSON.stringify of the store shows values.
  readonly #session = new Map<string, string>();
  #saved: SavedSecrets | undefined;
  #writes: Promise<void> = Promise.resolve();

  constructor(options: SecretStoreOptions) {
    this.#filePath = options.filePath;
    this.#safeStorage = options.safeStorage ?? electronSafeStorage;
    this.#platform = options.platform ?? process.platform;
  }

  /** The store for Electron's userData folder. */
  static inUserData(userDataDir: string, options: Omit<SecretStoreOptions, 'filePath'> = {}): SecretStore {
    return new SecretStore({ ...options, filePath: path.join(userDataDir, SECRETS_FILE_NAME) });
  }

  /** Whether persistent (encrypted) secrets are possible here, and why not when they are not. */
  async status(): Promise<SecretStorageStatus> {
    let available = false;
    try {
      available = await this.#safeStorage.isAsyncEncryptionAvailable();
    } catch {
      available = false;
    }
    const backend =
      this.#platform === 'linux'
        ? this.#safeStorage.getSelectedStorageBackend()
        : this.#platform === 'darwin'
          ? 'keychain'
          : this.#platform === 'win32'
            ? 'dpapi'
            : 'unknown';
    if (this.#platform === 'linux' && UNSAFE_LINUX_BACKENDS.has(backend)) {
      return {
        persistent: false,
        backend,
        reason:
          backend === 'basic_text'
            ? 'No OS keyring (GNOME Keyring/libsecret or KWallet) is available, so Electron would encrypt secrets with a key built into the app that anyone can read.'
            : 'The OS keyring has not been selected yet, so Eddy cannot tell whether secrets would really be protected.',
      };
    }
    if (!available) {
      return { persistent: false, backend, reason: 'The operating system’s secret storage is not available (it may be locked or missing).' };
    }
    return { persistent: true, backend };
  }

  /**
   * Stores a secret. `encrypted` (the default) refuses with FORBIDDEN when safeStorage cannot
   * protect it; `session` keeps it in memory only, forgotten when Eddy quits. Resolves how it was kept.
   */
  async set(name: string, value: string, options: { persistence?: SecretPersistence } = {}): Promise<SecretPersistence> {
    checkName(name);
    checkValue(value);
    const persistence = options.persistence ?? 'encrypted';
    if (persistence === 'session') {
      this.#session.set(name, value);
      return 'session';
    }
    const status = await this.status();
    if (!status.persistent) {
      throw new EddyError(
        'FORBIDDEN',
        `Eddy will not save the secret "${name}" on this computer. ${status.reason ?? ''} ` +
          'Set up a keyring and restart Eddy to save secrets, or keep this secret for this session only (it is forgotten when Eddy quits).',
        { name, backend: status.backend, sessionOnlyAvailable: true },
      );
    }
    let ciphertext: Buffer;
    try {
      ciphertext = await this.#safeStorage.encryptStringAsync(value);
    } catch {
      // The underlying message is not passed on: it is not needed and must never risk echoing input.
      throw new EddyError('UNAVAILABLE', `The secret "${name}" could not be encrypted by the operating system’s secret storage.`, { name });
    }
    await this.#update((saved) => {
      saved.set(name, { ciphertext: ciphertext.toString('base64'), updatedAt: Date.now() });
    });
    // A newer encrypted value replaces any session value under the same name.
    this.#session.delete(name);
    return 'encrypted';
  }

  /** The secret's value, or undefined when there is none. Session values shadow saved ones. */
  async get(name: string): Promise<string | undefined> {
    checkName(name);
    const sessionValue = this.#session.get(name);
    if (sessionValue !== undefined) return sessionValue;
    const entry = (await this.#load()).get(name);
    if (!entry) return undefined;
    const status = await this.status();
    if (!status.persistent) {
      throw new EddyError('UNAVAILABLE', `The saved secret "${name}" cannot be read: ${status.reason ?? 'secret storage is unavailable.'}`, {
        name,
        backend: status.backend,
      });
    }
    let decrypted: { result: string; shouldReEncrypt: boolean };
    try {
      decrypted = await this.#safeStorage.decryptStringAsync(Buffer.from(entry.ciphertext, 'base64'));
    } catch {
      throw new EddyError('UNAVAILABLE', `The saved secret "${name}" could not be decrypted; the keyring may be locked or may have changed.`, { name });
    }
    if (decrypted.shouldReEncrypt) {
      // Key rotation: store the value under the current key. Failing here must not fail the read.
      try {
        const ciphertext = await this.#safeStorage.encryptStringAsync(decrypted.result);
        await this.#update((saved) => {
          saved.set(name, { ciphertext: ciphertext.toString('base64'), updatedAt: Date.now() });
        });
      } catch {
        /* the old ciphertext still decrypts */
      }
    }
    return decrypted.result;
  }

  /** Reference names and how each is kept; never values. */
  async list(): Promise<SecretEntry[]> {
    const entries = new Map<string, SecretEntry>();
    for (const name of (await this.#load()).keys()) entries.set(name, { name, persistence: 'encrypted' });
    for (const name of this.#session.keys()) entries.set(name, { name, persistence: 'session' });
    return [...entries.values()].sort((a, b) => a.name.localeCompare(b.name));
  }

  /** Removes the secret from memory and disk; resolves whether there was one. */
  async delete(name: string): Promise<boolean> {
    checkName(name);
    const hadSession = this.#session.delete(name);
    if (!(await this.#load()).has(name)) return hadSession;
    await this.#update((saved) => {
      saved.delete(name);
    });
    return true;
  }

  /** Forgets every session-only secret. */
  clearSession(): void {
    this.#session.clear();
  }

  async #load(): Promise<SavedSecrets> {
    if (this.#saved) return this.#saved;
    let text: string;
    try {
      text = await readFile(this.#filePath, 'utf8');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') {
        this.#saved = new Map();
        return this.#saved;
      }
      throw new EddyError('UNAVAILABLE', `The secret file ${this.#filePath} cannot be read.`);
    }
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    const secrets = (parsed as Partial<SecretFile> | undefined)?.secrets;
    if ((parsed as Partial<SecretFile> | undefined)?.version !== 1 || typeof secrets !== 'object' || secrets === null) {
      // Never overwrite a file we do not understand: it may hold the user's only copy of a secret.
      throw new EddyError('INTERNAL', `The secret file ${this.#filePath} is not in a format Eddy understands; it was left untouched.`);
    }
    const saved: SavedSecrets = new Map();
    for (const [name, entry] of Object.entries(secrets)) {
      if (NAME_PATTERN.test(name) && typeof (entry as { ciphertext?: unknown }).ciphertext === 'string') {
        saved.set(name, { ciphertext: entry.ciphertext, updatedAt: Number(entry.updatedAt) || 0 });
      }
    }
    this.#saved = saved;
    return saved;
  }

  /** Applies a change and writes the file atomically; writes are serialised so none is lost. */
  async #update(change: (saved: SavedSecrets) => void): Promise<void> {
    const run = async (): Promise<void> => {
      // Change a copy, so a failed write leaves memory agreeing with the disk.
      const saved: SavedSecrets = new Map(await this.#load());
      change(saved);
      // Object.fromEntries defines own properties, so even a `__proto__` name is written as data.
      const file: SecretFile = { version: 1, secrets: Object.fromEntries(saved) };
      await mkdir(path.dirname(this.#filePath), { recursive: true });
      const temporary = `${this.#filePath}.${process.pid}.tmp`;
      await writeFile(temporary, `${JSON.stringify(file, null, 2)}\n`, { encoding: 'utf8', mode: 0o600 });
      await rename(temporary, this.#filePath);
      this.#saved = saved;
    };
    const next = this.#writes.then(run, run);
    this.#writes = next.catch(() => undefined);
    await next;
  }
}

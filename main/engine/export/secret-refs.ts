// Secret references in an export. A bundle runs outside Eddy, where there is no session store and
// no OS keychain: every secret must become a `${env:NAME}` reference that Kafka Connect (through
// its EnvVarConfigProvider) and the runner (through process.env) resolve. `${env:NAME}` stays as
// it is; `${secret:NAME}` becomes `${env:EDDY_SECRET_<NAME>}`. Values are never read here.
import { EddyError } from "../../../shared/contract.js";
import { parseSecretRef } from "../secrets.js";

/** The environment variable a reference is resolved from in production. */
export function exportEnvName(ref: string): string {
  const parsed = parseSecretRef(ref);
  if (!parsed)
    throw new EddyError(
      "VALIDATION",
      "A secret field holds something other than a ${env:NAME} or ${secret:NAME} reference; it is not exported.",
    );
  if (parsed.source === "env") return parsed.name;
  return `EDDY_SECRET_${parsed.name.toUpperCase().replace(/[^A-Z0-9_]/g, "_")}`;
}

/** `${env:NAME}` for the reference, as Kafka Connect's EnvVarConfigProvider and the runner read it. */
export function exportSecretRef(ref: string): string {
  return `\${env:${exportEnvName(ref)}}`;
}

/** Collects the environment variables an export needs, with what each is for. */
export class RequiredEnvironment {
  private readonly entries = new Map<string, Set<string>>();

  add(name: string, purpose: string): string {
    const purposes = this.entries.get(name) ?? new Set<string>();
    purposes.add(purpose);
    this.entries.set(name, purposes);
    return name;
  }

  /** Adds the reference's variable and returns the exported `${env:NAME}` form. */
  reference(ref: string, purpose: string): string {
    this.add(exportEnvName(ref), purpose);
    return exportSecretRef(ref);
  }

  list(): { name: string; purposes: string[] }[] {
    return [...this.entries.entries()]
      .sort(([a], [b]) => a.localeCompare(b))
      .map(([name, purposes]) => ({ name, purposes: [...purposes].sort() }));
  }
}

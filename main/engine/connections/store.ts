// Connection profiles as plain files in the workspace (`connections/<id>.json`), validated on the
// way in and out. Secret fields hold references only (the schema refuses anything else), so the
// files are safe to commit.
import { mkdir, readdir, readFile, rm, writeFile, rename } from 'node:fs/promises';
import path from 'node:path';
import { EddyError } from '../../../shared/contract.js';
import { ConnectionProfileSchema, type ConnectionProfile } from '../../../shared/contracts/connections.js';
import type { EngineContext } from '../context.js';

function folder(context: Pick<EngineContext, 'workspace'>): string {
  return path.join(context.workspace.root, 'connections');
}

function fileFor(context: Pick<EngineContext, 'workspace'>, id: string): string {
  if (!/^[a-z0-9][a-z0-9-]{0,62}$/.test(id)) throw new EddyError('VALIDATION', `"${id}" is not a valid connection id (lowercase letters, digits and dashes).`);
  return path.join(folder(context), `${id}.json`);
}

export async function listConnectionProfiles(context: Pick<EngineContext, 'workspace' | 'report'>): Promise<ConnectionProfile[]> {
  let names: string[];
  try {
    names = await readdir(folder(context));
  } catch {
    return [];
  }
  const profiles: ConnectionProfile[] = [];
  for (const name of names.filter((entry) => entry.endsWith('.json')).sort()) {
    try {
      profiles.push(ConnectionProfileSchema.parse(JSON.parse(await readFile(path.join(folder(context), name), 'utf8'))));
    } catch (error) {
      context.report('warning', 'connections', `connections/${name} is not a valid connection profile and was skipped: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`);
    }
  }
  return profiles;
}

export async function getConnectionProfile(context: Pick<EngineContext, 'workspace'>, id: string): Promise<ConnectionProfile> {
  const file = fileFor(context, id);
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new EddyError('NOT_FOUND', `There is no connection "${id}" in this workspace.`);
  }
  const parsed = ConnectionProfileSchema.safeParse(JSON.parse(text));
  if (!parsed.success) throw new EddyError('VALIDATION', `connections/${id}.json is not a valid connection profile: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

export async function saveConnectionProfile(context: Pick<EngineContext, 'workspace'>, profile: ConnectionProfile): Promise<ConnectionProfile> {
  const valid = ConnectionProfileSchema.parse(profile);
  const file = fileFor(context, valid.id);
  await mkdir(folder(context), { recursive: true });
  const temp = `${file}.tmp-${process.pid}`;
  await writeFile(temp, JSON.stringify(valid, null, 2) + '\n');
  await rename(temp, file);
  return valid;
}

export async function deleteConnectionProfile(context: Pick<EngineContext, 'workspace'>, id: string): Promise<boolean> {
  const file = fileFor(context, id);
  try {
    await rm(file);
    return true;
  } catch {
    return false;
  }
}

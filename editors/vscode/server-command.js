'use strict';
// The language server's command: read from the setting, checked, and found on PATH before it is started,
// so a missing `leadpolicy` gets a message that says what to do rather than a spawn error.
// In a workspace the user has not trusted, no program is taken from the workspace: not by a relative path
// (it would be read from the workspace's folder), not from a relative PATH entry (read from VS Code's own
// working directory, the workspace's when it was started there), and not from inside a workspace folder.
// Kept apart from extension.js (no `vscode` here), so node can test it on its own.

const fs = require('fs');
const path = require('path');

const SETTING = 'leadpolicy.server.command';
const DEFAULT_COMMAND = ['leadpolicy', 'lsp'];

/** The configured command as [program, ...args], or an Error saying what is wrong with the setting. */
function parseCommand(configured) {
  if (configured === undefined || configured === null) {
    return DEFAULT_COMMAND.slice();
  }
  if (!Array.isArray(configured) || configured.length === 0
      || !configured.every((part) => typeof part === 'string' && part.length > 0)) {
    return new Error(`${SETTING} must be a list of words, the program first: for example `
      + `["leadpolicy", "lsp"] (it is ${JSON.stringify(configured)})`);
  }
  return configured.slice();
}

/** The candidates for `program` in one folder: on Windows, each of PATHEXT's endings. */
function candidates(folder, program, env, platform) {
  const full = path.resolve(folder, program);
  if (platform !== 'win32' || path.extname(program)) {
    return [full];
  }
  const endings = (env.PATHEXT || '.COM;.EXE;.BAT;.CMD').split(';').filter(Boolean);
  return [full, ...endings.map((ending) => full + ending)];
}

function isProgram(file, platform) {
  try {
    if (!fs.statSync(file).isFile()) {
      return false;
    }
    if (platform !== 'win32') {
      fs.accessSync(file, fs.constants.X_OK);
    }
    return true;
  } catch (_) {
    return false;
  }
}

function namesPath(program, platform) {
  return program.includes('/') || (platform === 'win32' && program.includes('\\'));
}

/** Every file `program` may be: itself when it names a path, else its matches on PATH, in PATH's order.
 * `absoluteOnly`: pass over PATH's relative entries (an untrusted workspace's). */
function programFiles(program, env, platform, cwd, absoluteOnly) {
  if (namesPath(program, platform)) {
    const file = path.resolve(cwd, program);
    return candidates(path.dirname(file), path.basename(file), env, platform).filter((f) => isProgram(f, platform))
      .slice(0, 1);
  }
  const folders = (env.PATH || env.Path || '').split(path.delimiter).filter(Boolean)
    .filter((folder) => !absoluteOnly || path.isAbsolute(folder));
  return folders.flatMap((folder) => candidates(folder, program, env, platform).find((f) => isProgram(f, platform))
    || []);
}

/** Where `program` is: itself when it names a path, else the first match on PATH; undefined when nowhere. */
function findProgram(program, env = process.env, platform = process.platform, cwd = process.cwd()) {
  return programFiles(program, env, platform, cwd, false)[0];
}

/** The message shown when the program cannot be found. */
function notInstalledMessage(program) {
  return `leadpolicy's language server could not start: the program "${program}" was not found. `
    + 'Install leadpolicy (pip install leadpolicy) where VS Code can find it, or set '
    + `${SETTING} to its full path, for example ["/path/to/.venv/bin/leadpolicy", "lsp"].`;
}

function realPath(file) {
  try {
    return fs.realpathSync(file);
  } catch (_) {
    return path.resolve(file);
  }
}

/** The workspace folder `file` is in (links followed), or undefined. */
function folderHolding(file, folders) {
  const real = realPath(file);
  return folders.find((folder) => {
    const inside = path.relative(realPath(folder), real);
    return inside === '' || (inside.split(path.sep)[0] !== '..' && !path.isAbsolute(inside));
  });
}

function relativeRefusedMessage(program) {
  return `leadpolicy's language server was not started: in a workspace you have not trusted, ${SETTING} `
    + `cannot name its program by a relative path ("${program}"), which would run a program from the workspace. `
    + 'Name it in full in your user settings, for example ["/path/to/.venv/bin/leadpolicy", "lsp"], '
    + 'or trust the workspace.';
}

function insideRefusedMessage(found, folder) {
  return `leadpolicy's language server was not started: in a workspace you have not trusted, its program cannot `
    + `come from the workspace ("${found}" is inside ${folder}). Set ${SETTING} in your user settings to a `
    + 'program outside the workspace, or trust the workspace.';
}

/** The command to start: {program, args} (program resolved to its file), or {error} with the message to show.
 * `place`: env (PATH), platform, cwd (the folder a relative path is taken from: the workspace's first), and
 * untrustedFolders: the workspace's folders when the user has not trusted it (none of its programs runs). */
function resolveCommand(configured, place = {}) {
  const { env = process.env, platform = process.platform, cwd = process.cwd(), untrustedFolders } = place;
  const command = parseCommand(configured);
  if (command instanceof Error) {
    return { error: command.message };
  }
  const [program, ...args] = command;
  const untrusted = Array.isArray(untrustedFolders);
  if (untrusted && namesPath(program, platform) && !path.isAbsolute(program)) {
    return { error: relativeRefusedMessage(program) };
  }
  const files = programFiles(program, env, platform, cwd, untrusted);
  const found = untrusted ? files.find((file) => folderHolding(file, untrustedFolders) === undefined) : files[0];
  if (found === undefined && files.length > 0) {
    return { error: insideRefusedMessage(files[0], folderHolding(files[0], untrustedFolders)) };
  }
  if (found === undefined) {
    return { error: notInstalledMessage(program) };
  }
  return { program: found, args };
}

module.exports = { SETTING, DEFAULT_COMMAND, parseCommand, findProgram, notInstalledMessage, resolveCommand };

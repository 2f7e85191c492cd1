'use strict';
// The language server's command: read from the setting, checked, and found on PATH before it is started,
// so a missing `leadpolicy` gets a message that says what to do rather than a spawn error.
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

/** Where `program` is: itself when it names a path, else the first match on PATH; undefined when nowhere. */
function findProgram(program, env = process.env, platform = process.platform, cwd = process.cwd()) {
  if (program.includes('/') || (platform === 'win32' && program.includes('\\'))) {
    const file = path.resolve(cwd, program);
    return candidates(path.dirname(file), path.basename(file), env, platform).find((f) => isProgram(f, platform));
  }
  const folders = (env.PATH || env.Path || '').split(path.delimiter).filter(Boolean);
  for (const folder of folders) {
    const found = candidates(folder, program, env, platform).find((f) => isProgram(f, platform));
    if (found) {
      return found;
    }
  }
  return undefined;
}

/** The message shown when the program cannot be found. */
function notInstalledMessage(program) {
  return `leadpolicy's language server could not start: the program "${program}" was not found. `
    + 'Install leadpolicy (pip install leadpolicy) where VS Code can find it, or set '
    + `${SETTING} to its full path, for example ["/path/to/.venv/bin/leadpolicy", "lsp"].`;
}

/** The command to start: {program, args} (program resolved to its file), or {error} with the message to show. */
function resolveCommand(configured, env = process.env, platform = process.platform, cwd = process.cwd()) {
  const command = parseCommand(configured);
  if (command instanceof Error) {
    return { error: command.message };
  }
  const [program, ...args] = command;
  const found = findProgram(program, env, platform, cwd);
  if (!found) {
    return { error: notInstalledMessage(program) };
  }
  return { program: found, args };
}

module.exports = { SETTING, DEFAULT_COMMAND, parseCommand, findProgram, notInstalledMessage, resolveCommand };

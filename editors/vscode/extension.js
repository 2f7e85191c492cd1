'use strict';
// The leadpolicy extension: highlighting comes from the TextMate grammar (package.json); everything else
// (diagnostics, hover, definitions, completion, formatting, outline, code lenses) from `leadpolicy lsp`,
// started over stdio with the command in the leadpolicy.server.command setting.

const fs = require('fs');
const os = require('os');
const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');
const { SETTING, resolveCommand } = require('./server-command');

const OPEN_SETTINGS = 'Open Settings';
let client;
let extensionContext;

function documentSelector() {
  return [
    { scheme: 'file', language: 'leadpolicy' },
    { scheme: 'untitled', language: 'leadpolicy' },
    // a policy's samples: the server puts "passes" / "fails" above each case
    { scheme: 'file', pattern: '**/*.samples.{yaml,yml}' },
  ];
}

function workspaceFolders() {
  return (vscode.workspace.workspaceFolders || []).map((folder) => folder.uri.fsPath);
}

/** Where the server of a workspace not trusted runs: a folder of the extension's own, never the workspace's. */
function folderOutsideTheWorkspace() {
  const storage = extensionContext && extensionContext.globalStorageUri && extensionContext.globalStorageUri.fsPath;
  if (storage) {
    try {
      fs.mkdirSync(storage, { recursive: true });
      return storage;
    } catch (_) {
      // the home folder, then
    }
  }
  return os.homedir();
}

/** How the server's process starts. PYTHONSAFEPATH=1: `python -m leadpolicy` must not put its working directory
 * first on sys.path, where a workspace's yaml.py would be imported in place of PyYAML. */
function spawnOptions(trusted, folders) {
  const cwd = trusted ? folders[0] : folderOutsideTheWorkspace();
  const env = { ...process.env, PYTHONSAFEPATH: '1' };
  return cwd ? { cwd, env } : { env };
}

async function showProblem(message) {
  const choice = await vscode.window.showErrorMessage(message, OPEN_SETTINGS);
  if (choice === OPEN_SETTINGS) {
    await vscode.commands.executeCommand('workbench.action.openSettings', SETTING);
  }
}

async function start() {
  const folders = workspaceFolders();
  const trusted = vscode.workspace.isTrusted;
  const configured = vscode.workspace.getConfiguration().get(SETTING);
  const command = resolveCommand(configured, {
    cwd: folders[0] || process.cwd(),
    // not trusted: no program from the workspace (VS Code already gives only the user's setting)
    untrustedFolders: trusted ? undefined : folders,
  });
  if (command.error) {
    await showProblem(command.error);
    return;
  }
  const serverOptions = {
    command: command.program,
    args: command.args,
    transport: TransportKind.stdio,
    options: spawnOptions(trusted, folders),
  };
  const clientOptions = {
    documentSelector: documentSelector(),
    synchronize: {
      fileEvents: vscode.workspace.createFileSystemWatcher('**/*.{policy,samples.yaml,samples.yml}'),
    },
  };
  client = new LanguageClient('leadpolicy', 'leadpolicy', serverOptions, clientOptions);
  try {
    await client.start();
  } catch (err) {
    client = undefined;
    await showProblem(`leadpolicy's language server (${command.program} ${command.args.join(' ')}) `
      + `did not start: ${err && err.message ? err.message : err}`);
  }
}

async function stop() {
  if (client) {
    const running = client;
    client = undefined;
    await running.stop();
  }
}

async function restart() {
  await stop();
  await start();
}

async function activate(context) {
  extensionContext = context;
  context.subscriptions.push(
    vscode.commands.registerCommand('leadpolicy.restartServer', restart),
    vscode.workspace.onDidChangeConfiguration((event) => {
      if (event.affectsConfiguration('leadpolicy.server')) {
        restart();
      }
    }),
    vscode.workspace.onDidGrantWorkspaceTrust(restart),
  );
  await start();
}

function deactivate() {
  return stop();
}

module.exports = { activate, deactivate };

'use strict';
// The leadpolicy extension: highlighting comes from the TextMate grammar (package.json); everything else
// (diagnostics, hover, definitions, completion, formatting, outline, code lenses) from `leadpolicy lsp`,
// started over stdio with the command in the leadpolicy.server.command setting.

const vscode = require('vscode');
const { LanguageClient, TransportKind } = require('vscode-languageclient/node');
const { SETTING, resolveCommand } = require('./server-command');

const OPEN_SETTINGS = 'Open Settings';
let client;

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

async function showProblem(message) {
  const choice = await vscode.window.showErrorMessage(message, OPEN_SETTINGS);
  if (choice === OPEN_SETTINGS) {
    await vscode.commands.executeCommand('workbench.action.openSettings', SETTING);
  }
}

async function start() {
  const folders = workspaceFolders();
  const cwd = folders[0];
  const configured = vscode.workspace.getConfiguration().get(SETTING);
  const command = resolveCommand(configured, {
    cwd: cwd || process.cwd(),
    // not trusted: no program from the workspace (VS Code already gives only the user's setting)
    untrustedFolders: vscode.workspace.isTrusted ? undefined : folders,
  });
  if (command.error) {
    await showProblem(command.error);
    return;
  }
  const serverOptions = {
    command: command.program,
    args: command.args,
    transport: TransportKind.stdio,
    options: cwd ? { cwd } : {},
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

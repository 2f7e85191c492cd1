'use strict';
// Activates extension.js with stand-ins for `vscode` and the language client (VS Code itself is not needed),
// for the project's tests:
//   node test/activate.js EXTENSION_FOLDER 'SETTING_JSON' PATH [WORKSPACE_FOLDER [TRUSTED]]
// (TRUSTED: true or false, whether the user trusts the workspace; true when not given)
// prints {"errors": [...messages shown...], "clients": [{"serverOptions": ..., "documentSelector": ...}],
// "commands": [...registered...]}.

const Module = require('module');
const path = require('path');

const [folder, settingJson, searchPath, workspace, trusted] = process.argv.slice(2);
const setting = settingJson === undefined || settingJson === 'undefined' ? undefined : JSON.parse(settingJson);
const seen = { errors: [], clients: [], commands: [] };
const disposable = { dispose() {} };

const vscode = {
  workspace: {
    isTrusted: trusted !== 'false',
    workspaceFolders: workspace ? [{ uri: { fsPath: workspace, scheme: 'file' }, name: 'workspace', index: 0 }]
      : undefined,
    getConfiguration: () => ({ get: (key) => (key === 'leadpolicy.server.command' ? setting : undefined) }),
    createFileSystemWatcher: (glob) => ({ glob, dispose() {} }),
    onDidChangeConfiguration: () => disposable,
    onDidGrantWorkspaceTrust: () => disposable,
  },
  window: {
    showErrorMessage: async (message) => { seen.errors.push(message); return undefined; },
  },
  commands: {
    registerCommand: (name) => { seen.commands.push(name); return disposable; },
    executeCommand: async () => undefined,
  },
};

class LanguageClient {
  constructor(id, name, serverOptions, clientOptions) {
    seen.clients.push({ id, name, serverOptions, documentSelector: clientOptions.documentSelector });
  }

  async start() {}

  async stop() {}
}

const client = { LanguageClient, TransportKind: { stdio: 0, ipc: 1, pipe: 2, socket: 3 } };
const load = Module._load;
Module._load = function loadWithStandIns(request, parent, isMain) {
  if (request === 'vscode') {
    return vscode;
  }
  if (request === 'vscode-languageclient/node') {
    return client;
  }
  return load.call(this, request, parent, isMain);
};

process.env.PATH = searchPath || '';
require(path.resolve(folder, 'extension.js')).activate({ subscriptions: [] }).then(() => {
  process.stdout.write(JSON.stringify(seen));
}, (err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exitCode = 3;
});

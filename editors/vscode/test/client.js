'use strict';
// Activates extension.js with the REAL LanguageClient of vscode-languageclient (only `vscode` itself is a
// stand-in), so the server is spawned exactly as VS Code would spawn it: the client's own argument building
// (it appends --stdio for a stdio command), working directory and environment. The client's start() is
// replaced by what it begins with: its createMessageTransports() (which spawns the server), then an LSP
// initialize, shutdown and exit over those transports. For the project's tests:
//   node test/client.js 'SETTING_JSON' WORKSPACE_FOLDER TRUSTED PATH [POLICY_FILE]
// prints {"errors": [...messages shown...], "spawned": {command, args, cwd, pythonSafePath},
// "capabilities": {...} or null, "diagnostics": [...the first published for POLICY_FILE, once opened...],
// "exitCode": N, "stderr": "..."}.

const Module = require('module');
const fs = require('fs');
const path = require('path');
const { pathToFileURL } = require('url');
const childProcess = require('child_process');

const PATIENCE_MS = 60000;
const EXTENSION = path.resolve(__dirname, '..');
const [settingJson, workspace, trusted, searchPath, policyFile] = process.argv.slice(2);
const setting = settingJson === 'undefined' ? undefined : JSON.parse(settingJson);
const seen = { errors: [], spawned: null, capabilities: null, diagnostics: null, exitCode: null, stderr: '' };

/** Any member of VS Code's API the client touches but these tests do not care about: callable, constructible. */
function inert() {
  return new Proxy(function standIn() {}, {
    get: (target, key) => (key === 'then' ? undefined : inert()),
    apply: () => inert(),
    construct: () => inert(),
  });
}

function withInertRest(concrete) {
  return new Proxy(concrete, { get: (target, key) => (key in target ? target[key] : inert()) });
}

const disposable = { dispose() {} };
const vscode = withInertRest({
  version: '1.91.0',
  workspace: withInertRest({
    isTrusted: trusted === 'true',
    workspaceFolders: workspace ? [{ uri: { fsPath: workspace, scheme: 'file' }, name: 'workspace', index: 0 }]
      : undefined,
    getConfiguration: () => ({ get: (key) => (key === 'leadpolicy.server.command' ? setting : undefined) }),
    createFileSystemWatcher: () => disposable,
    onDidChangeConfiguration: () => disposable,
    onDidGrantWorkspaceTrust: () => disposable,
  }),
  window: withInertRest({ showErrorMessage: async (message) => { seen.errors.push(message); } }),
  commands: withInertRest({ registerCommand: () => disposable, executeCommand: async () => undefined }),
});

let exited = Promise.resolve();
const spawn = childProcess.spawn;
childProcess.spawn = function recordedSpawn(command, args, options) {
  const env = (options && options.env) || process.env;
  seen.spawned = { command, args, cwd: options && options.cwd, pythonSafePath: env.PYTHONSAFEPATH };
  const child = spawn.call(this, command, args, options);
  child.stderr.on('data', (chunk) => { seen.stderr += chunk; });
  exited = new Promise((resolve) => {
    child.on('exit', (code) => { seen.exitCode = code; resolve(); });
    setTimeout(resolve, PATIENCE_MS).unref();
  });
  return child;
};

const load = Module._load;
Module._load = function vscodeStandIn(request, parent, isMain) {
  return request === 'vscode' ? vscode : load.call(this, request, parent, isMain);
};
const real = require(require.resolve('vscode-languageclient/node', { paths: [EXTENSION] }));

/** The first diagnostics the server publishes for `file`, once it is opened. */
async function diagnosticsOf(connection, file) {
  const uri = pathToFileURL(path.resolve(file)).href;
  const published = new Promise((resolve) => {
    connection.onNotification(real.PublishDiagnosticsNotification.type, (params) => {
      if (params.uri === uri) {
        resolve(params.diagnostics);
      }
    });
  });
  await connection.sendNotification(real.InitializedNotification.type, {});
  await connection.sendNotification(real.DidOpenTextDocumentNotification.type, {
    textDocument: { uri, languageId: 'leadpolicy', version: 1, text: fs.readFileSync(file, 'utf8') },
  });
  return published;
}

async function handshake(transports) {
  const connection = real.createProtocolConnection(transports.reader, transports.writer);
  const closed = new Promise((_, reject) => {
    transports.reader.onClose(() => reject(new Error('the server closed its output')));
    setTimeout(() => reject(new Error('no answer to initialize')), PATIENCE_MS).unref();
  });
  connection.listen();
  const init = await Promise.race([closed, connection.sendRequest(real.InitializeRequest.type, {
    processId: process.pid, rootUri: null, capabilities: {}, workspaceFolders: null,
  })]);
  seen.capabilities = init.capabilities;
  if (policyFile) {
    seen.diagnostics = await Promise.race([closed, diagnosticsOf(connection, policyFile)]);
  }
  await connection.sendRequest(real.ShutdownRequest.type);
  await connection.sendNotification(real.ExitNotification.type);
  connection.dispose();
}

class HandshakingClient extends real.LanguageClient {
  async start() {
    await handshake(await this.createMessageTransports('utf-8'));
  }

  async stop() {}
}

Module._load = function clientStandIns(request, parent, isMain) {
  if (request === 'vscode') {
    return vscode;
  }
  if (request === 'vscode-languageclient/node') {
    return { ...real, LanguageClient: HandshakingClient };
  }
  return load.call(this, request, parent, isMain);
};

process.env.PATH = searchPath || '';
require(path.join(EXTENSION, 'extension.js')).activate({ subscriptions: [] }).then(() => exited).then(() => {
  process.stdout.write(JSON.stringify(seen));
}, (err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exitCode = 3;
});

'use strict';
// Starts the language server as the extension does (the leadpolicy.server.command setting, found on PATH,
// over stdio) and speaks LSP to it with the protocol library the extension's client is built on, for the
// project's tests:
//   node test/handshake.js 'SETTING_JSON' PATH POLICY_FILE
// opens POLICY_FILE and prints {"capabilities": {...}, "diagnostics": [...the first ones published...]}.

const cp = require('child_process');
const fs = require('fs');
const path = require('path');
const { pathToFileURL } = require('url');
const lsp = require('vscode-languageserver-protocol/node');
const { resolveCommand } = require('../server-command');

const PATIENCE_MS = 60000;

async function main([settingJson, searchPath, policyFile]) {
  const setting = settingJson === 'undefined' ? undefined : JSON.parse(settingJson);
  const command = resolveCommand(setting, { env: { ...process.env, PATH: searchPath } });
  if (command.error) {
    throw new Error(command.error);
  }
  const server = cp.spawn(command.program, command.args, { stdio: ['pipe', 'pipe', 'inherit'] });
  const connection = lsp.createProtocolConnection(new lsp.StreamMessageReader(server.stdout),
    new lsp.StreamMessageWriter(server.stdin));
  const uri = pathToFileURL(path.resolve(policyFile)).href;
  const published = new Promise((resolve) => {
    connection.onNotification(lsp.PublishDiagnosticsNotification.type, (params) => {
      if (params.uri === uri) {
        resolve(params.diagnostics);
      }
    });
  });
  connection.listen();
  const init = await connection.sendRequest(lsp.InitializeRequest.type, {
    processId: process.pid, rootUri: null, capabilities: {}, workspaceFolders: null,
  });
  await connection.sendNotification(lsp.InitializedNotification.type, {});
  await connection.sendNotification(lsp.DidOpenTextDocumentNotification.type, {
    textDocument: { uri, languageId: 'leadpolicy', version: 1, text: fs.readFileSync(policyFile, 'utf8') },
  });
  const timeout = new Promise((_, reject) => setTimeout(() => reject(new Error('no diagnostics published')),
    PATIENCE_MS).unref());
  const diagnostics = await Promise.race([published, timeout]);
  await connection.sendRequest(lsp.ShutdownRequest.type);
  await connection.sendNotification(lsp.ExitNotification.type);
  connection.dispose();
  return { capabilities: init.capabilities, diagnostics };
}

main(process.argv.slice(2)).then((out) => {
  process.stdout.write(JSON.stringify(out));
}, (err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exitCode = 3;
});

'use strict';
// Tokenizes files with the extension's TextMate grammar and the engine VS Code uses (vscode-textmate on
// vscode-oniguruma), for the project's tests:
//   node test/tokenize.js GRAMMAR.json FILE...
// prints {"FILE": [[{"start": 0, "end": 6, "scopes": ["source.leadpolicy", "keyword.other.leadpolicy"]}, ...],
// ...one list per line]}; start and end count UTF-16 code units within the line, as VS Code does.

const fs = require('fs');
const path = require('path');
const vsctm = require('vscode-textmate');
const oniguruma = require('vscode-oniguruma');

function onigLib() {
  const wasm = fs.readFileSync(path.join(path.dirname(require.resolve('vscode-oniguruma')), 'onig.wasm'));
  return oniguruma.loadWASM(wasm.buffer.slice(wasm.byteOffset, wasm.byteOffset + wasm.byteLength)).then(() => ({
    createOnigScanner: (patterns) => new oniguruma.OnigScanner(patterns),
    createOnigString: (text) => new oniguruma.OnigString(text),
  }));
}

async function loadGrammar(grammarPath) {
  const raw = vsctm.parseRawGrammar(fs.readFileSync(grammarPath, 'utf8'), grammarPath);
  const registry = new vsctm.Registry({
    onigLib: onigLib(),
    loadGrammar: async (scopeName) => (scopeName === raw.scopeName ? raw : null),
  });
  const grammar = await registry.loadGrammar(raw.scopeName);
  if (!grammar) {
    throw new Error(`${grammarPath}: no grammar for ${raw.scopeName}`);
  }
  return grammar;
}

function tokenize(grammar, text) {
  let state = vsctm.INITIAL;
  return text.split(/\r?\n/).map((line) => {
    const result = grammar.tokenizeLine(line, state);
    state = result.ruleStack;
    return result.tokens.map((t) => ({ start: t.startIndex, end: Math.min(t.endIndex, line.length), scopes: t.scopes }));
  });
}

async function main(argv) {
  const [grammarPath, ...files] = argv;
  if (!grammarPath || files.length === 0) {
    process.stderr.write('usage: node tokenize.js GRAMMAR.json FILE...\n');
    return 2;
  }
  const grammar = await loadGrammar(grammarPath);
  const out = {};
  for (const file of files) {
    out[file] = tokenize(grammar, fs.readFileSync(file, 'utf8'));
  }
  process.stdout.write(JSON.stringify(out));
  return 0;
}

main(process.argv.slice(2)).then((code) => { process.exitCode = code; }, (err) => {
  process.stderr.write(`${err && err.stack ? err.stack : err}\n`);
  process.exitCode = 3;
});

// Compiles contracts/src/*.sol with solc-js (npm `solc`, installed by
// scripts/install-chain-tools.sh) and writes one artifact per contract to contracts/out/:
// {"contractName","compiler","abi","bytecode","deployedBytecode"}. Then checks that the
// EthenaMinting ABI has exactly the functions, events and errors of the reference V2 ABI
// (events in the corrected, order_id-first layout). Exit code 1 on any error.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';

const contractsDir = path.dirname(new URL(import.meta.url).pathname);
const require = createRequire(path.join(process.env.HEDGER_TOOLS_DIR || path.join(contractsDir, '..', '.tools'), 'package.json'));
const solc = require('solc');

const srcDir = path.join(contractsDir, 'src');
const outDir = path.join(contractsDir, 'out');
const sources = {};
for (const file of fs.readdirSync(srcDir).filter((f) => f.endsWith('.sol')).sort()) {
  sources[`src/${file}`] = { content: fs.readFileSync(path.join(srcDir, file), 'utf8') };
}
const input = {
  language: 'Solidity',
  sources,
  settings: {
    optimizer: { enabled: true, runs: 200 },
    evmVersion: 'shanghai',
    outputSelection: { '*': { '*': ['abi', 'evm.bytecode.object', 'evm.deployedBytecode.object'] } },
  },
};
const output = JSON.parse(solc.compile(JSON.stringify(input)));
const errors = (output.errors || []).filter((e) => e.severity === 'error');
for (const message of errors) console.error(message.formattedMessage);
const warnings = (output.errors || []).filter((e) => e.severity !== 'error');
// Expected: getRoleAdmin/supportsInterface could be `pure` but the deployed ABI says `view`.
for (const message of warnings) {
  if (!message.message.includes('can be restricted to pure')) console.error(message.formattedMessage);
}
if (errors.length > 0) process.exit(1);

fs.mkdirSync(outDir, { recursive: true });
const compiler = `solc-js ${solc.version()}`;
for (const [, contracts] of Object.entries(output.contracts)) {
  for (const [name, artifact] of Object.entries(contracts)) {
    const bytecode = artifact.evm.bytecode.object;
    if (bytecode.length === 0) continue; // interfaces and abstract contracts
    const json = {
      contractName: name,
      compiler,
      settings: input.settings,
      abi: artifact.abi,
      bytecode: `0x${bytecode}`,
      deployedBytecode: `0x${artifact.evm.deployedBytecode.object}`,
    };
    fs.writeFileSync(path.join(outDir, `${name}.json`), `${JSON.stringify(json, null, 1)}\n`);
    console.log(`wrote out/${name}.json (${artifact.evm.deployedBytecode.object.length / 2} bytes deployed)`);
  }
}

// ABI compatibility with the reference (names + canonical types, ignoring parameter names).
const canonical = (param) => {
  if (!param.type.startsWith('tuple')) return param.type;
  return `(${param.components.map(canonical).join(',')})${param.type.slice(5)}`;
};
const signature = (item) => {
  const inputs = (item.inputs || []).map((p) => canonical(p) + (p.indexed ? ' indexed' : '')).join(',');
  const outputs = item.type === 'function' ? `->${(item.outputs || []).map(canonical).join(',')}` : '';
  const mutability = item.type === 'function' ? ` ${item.stateMutability}` : '';
  return `${item.type} ${item.name || ''}(${inputs})${outputs}${mutability}`;
};
const reference = JSON.parse(
  fs.readFileSync(path.join(contractsDir, 'reference', 'EthenaMintingV2.events-corrected.abi.json'), 'utf8'),
);
const ours = JSON.parse(fs.readFileSync(path.join(outDir, 'EthenaMinting.json'), 'utf8')).abi;
const want = new Set(reference.map(signature));
const have = new Set(ours.map(signature));
const missing = [...want].filter((s) => !have.has(s));
const extra = [...have].filter((s) => !want.has(s));
if (missing.length || extra.length) {
  console.error('EthenaMinting ABI differs from reference/EthenaMintingV2.events-corrected.abi.json');
  for (const s of missing) console.error(`  missing: ${s}`);
  for (const s of extra) console.error(`  extra:   ${s}`);
  process.exit(1);
}
console.log(`EthenaMinting ABI matches the reference (${want.size} entries)`);

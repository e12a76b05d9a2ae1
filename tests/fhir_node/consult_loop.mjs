// The consult loop as a Node GP system would run it with fhir-kit-client (tests/test_fhir_kit_client.py):
//   FHIR_BASE=... TOKEN=... IDENTIFIER=... node consult_loop.mjs <ServiceRequest.json>
// Each step prints one JSON line {step, ...} for the test to check.
import fs from 'node:fs';
import { Client } from 'fhir-kit-client';

const client = new Client({ baseUrl: process.env.FHIR_BASE, bearerToken: process.env.TOKEN });
const say = (step, details) => console.log(JSON.stringify({ step, ...details }));

const statement = await client.capabilityStatement();
say('capabilities', { fhirVersion: statement.fhirVersion });

const request = JSON.parse(fs.readFileSync(process.argv[2], 'utf8'));
delete request.id;
request.identifier[0].value = process.env.IDENTIFIER;
const created = await client.create({ resourceType: 'ServiceRequest', body: request });
say('created', { id: created.id, version: created.meta.versionId });

const bundle = await client.search({ resourceType: 'Task', searchParams: { focus: `ServiceRequest/${created.id}` } });
const task = bundle.entry[0].resource;
say('task', { total: bundle.total, status: task.status });

const version = await client.vread({ resourceType: 'ServiceRequest', id: created.id, version: created.meta.versionId });
say('vread', { id: version.id });

const cancelled = await client.update({ resourceType: 'Task', id: task.id, body: { ...task, status: 'cancelled' },
  options: { headers: { 'If-Match': `W/"${task.meta.versionId}"` } } });
say('cancelled', { status: cancelled.status });

try {
  await client.create({ resourceType: 'ServiceRequest', body: { ...request, note: [{ text: ' ' }] } }); // a blank question (tsr-2)
  say('refused', { status: null });
} catch (error) {
  say('refused', { status: error.response?.status, outcome: error.response?.data?.resourceType });
}

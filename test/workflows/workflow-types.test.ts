/**
 * Clients start workflows by the type names and signatures src/protocol declares (the SDK, the operator and the
 * operator endpoint's policy never load workflow code): the workflows module must export them under those names.
 */
import * as workflows from '../../workflows/index.js';
import { INFERENCE_WORKFLOW, type InferenceWorkflow } from '../../src/protocol/inference.js';
import { REGISTRATION_WORKFLOW_TYPE, type RegistrationWorkflow } from '../../src/protocol/operator-endpoint-wire.js';

test('the workflow types clients start are exported under the names they use', () => {
  const exported = workflows as Record<string, unknown>;
  const inference: InferenceWorkflow = workflows.inferenceWorkflow;
  const registration: RegistrationWorkflow = workflows.registerNodeWorkflow;
  expect([exported[INFERENCE_WORKFLOW], inference.name]).toEqual([inference, INFERENCE_WORKFLOW]);
  expect([exported[REGISTRATION_WORKFLOW_TYPE], registration.name]).toEqual([registration, REGISTRATION_WORKFLOW_TYPE]);
});

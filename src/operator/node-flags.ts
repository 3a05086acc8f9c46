/**
 * Node flags an operator process starts with. V8 sizes the old generation from what it has seen: an operator whose
 * first full collections came early can stay with a limit just above its live heap (~67 MB: the tokenizer and model
 * state), and then runs a full mark-compact every ~2 MB promoted — about every other request — for as long as it lives:
 * ~65 ms of CPU per request instead of ~30 on the test model, in one operator process of three on average here.
 * A 256 MB initial old space keeps the limit above that. It must be given at start (`v8.setFlagsFromString` later has
 * no effect, and NODE_OPTIONS does not accept it): `node --initial-old-space-size=256 bin/parallelix.js operator`
 * when starting an operator by hand.
 */
export const OPERATOR_NODE_FLAGS: readonly string[] = ['--initial-old-space-size=256'];

// The failure converter of every data converter that talks to the namespace (coordinator, platform clients,
// operators): failure messages and stack traces move into an encoded payload, which the payload codec encrypts
// (coordinator side) or seals to the coordinator (operator side). Temporal loads it by path (`failureConverterPath`)
// in workers, clients and the workflow sandbox alike, hence a plain CommonJS module.
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });

import { temporalGrpcCompression } from '../../src/temporal/grpc-compression.js';
import { ConfigError } from '../../src/shared/errors.js';

test('worker connections to Temporal are uncompressed unless gzip is asked for; anything else is refused with the variable named', () => {
  expect(temporalGrpcCompression({})).toEqual({ grpcCompression: { codec: 'none' } });
  expect(temporalGrpcCompression({ PARALLELIX_TEMPORAL_GRPC_COMPRESSION: 'gzip' })).toEqual({ grpcCompression: { codec: 'gzip' } });
  expect(() => temporalGrpcCompression({ PARALLELIX_TEMPORAL_GRPC_COMPRESSION: 'zstd' })).toThrow(ConfigError);
  expect(() => temporalGrpcCompression({ PARALLELIX_TEMPORAL_GRPC_COMPRESSION: 'zstd' })).toThrow(/PARALLELIX_TEMPORAL_GRPC_COMPRESSION/);
});

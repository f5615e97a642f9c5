// The ObjectStore suite of testdata/backends.ts on a bucket of the real test S3 server.
import { describeBackend, s3Backend } from './testdata/backends.ts';

describeBackend('s3', s3Backend);

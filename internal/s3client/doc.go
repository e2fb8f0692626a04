// Package s3client turns the standard AWS environment into a minio-go client for any S3-compatible store
// (AWS S3, MinIO, GCS's S3 interoperability endpoint, ...) and explains the S3 errors a user will meet.
//
// The snapshot package and the S3 output both build their clients here, so every part of flicker reads the
// same settings the same way:
//
//   - AWS_ENDPOINT_URL_S3 or AWS_ENDPOINT_URL: the store's URL; its scheme decides TLS. Empty means AWS S3.
//   - AWS_REGION or AWS_DEFAULT_REGION: the signing region (DefaultRegion when unset, so minio-go never
//     needs s3:GetBucketLocation).
//   - AWS_S3_FORCE_PATH_STYLE: path-style instead of virtual-host addressing.
//   - credentials, first that yields wins: static keys (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY,
//     AWS_SESSION_TOKEN), the shared credentials file (AWS_PROFILE, AWS_SHARED_CREDENTIALS_FILE), EKS IRSA
//     (AWS_WEB_IDENTITY_TOKEN_FILE with AWS_ROLE_ARN), ECS task roles and EC2 instance profiles
//     (AWS_EC2_METADATA_DISABLED=true leaves the last out, as in the AWS SDKs).
//
// Caveats:
//
//   - minio-go's own credential chain silently falls back to anonymous requests, which then fail as
//     AccessDenied and hide the real cause. The chain here answers ErrNoCredentials instead, listing every
//     link and what it said; the error surfaces on the first request, since lookups are lazy. Waiting will
//     not change it: callers fail at once rather than retry.
//   - Metadata lookups (EC2 IMDS, ECS, STS) use their own http.Client with Config.MetadataTimeout, because
//     minio-go's default has no timeout and outside AWS an IMDS request can hang (minio-go adds a 1s bound
//     on the IMDSv2 token request, so a dead metadata address costs at most about 1s plus Config.MetadataTimeout).
//   - minio.ToErrorResponse does not unwrap. Errors returned by Explain wrap minio.ErrorResponse, so read the
//     S3 code with this package's ToErrorResponse (or errors.As) after Explain.
//   - Secrets (secret key, session token, credentials in an endpoint URL) never appear in errors or in the
//     formatted Config.
package s3client

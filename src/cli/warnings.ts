/**
 * The AWS SDK warns on every run under Node 20 that its releases from 2027 need Node 22. That
 * notice would land in every CronJob log; the SDK's own switch turns it off (the container image
 * runs a current LTS anyway). Other warnings are untouched.
 */
export function quietKnownWarnings(): void {
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
}

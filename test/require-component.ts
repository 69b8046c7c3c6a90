/**
 * What a test does when a component it proves (PostgreSQL, a browser, the npm registry) is missing:
 * on a laptop it skips with `message`; where `MK_REQUIRE_<NAME>=1` is set — `.ci/run` sets it for
 * every component CI is meant to prove — it throws, so the run fails instead of passing with less.
 */
export function componentMissing(variable: `MK_REQUIRE_${string}`, message: string): void {
  if (process.env[variable] === "1") {
    throw new Error(`${message}\n${variable}=1 is set (as .ci/run does), so this fails instead of skipping.`);
  }
  console.warn(`${message} (skipped; ${variable}=1 makes this a failure)`);
}

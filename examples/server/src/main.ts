// Placeholder until the example server lands (issue "Example server"). It says so instead of failing.
process.stdout.write(
  [
    "mandrill-kit example server: not built yet.",
    "The foundation packages (@mandrill-kit/core, @mandrill-kit/sqlite) are ready; the settings UI,",
    "webhook router and sender arrive with their own issues. Run `pnpm test` to see what works today.",
    "",
  ].join("\n"),
);

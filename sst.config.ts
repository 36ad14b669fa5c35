/**
 * `npx sst deploy --stage <name>`: the whole AWS stack (docs/deploy.md). The areas are in infra/,
 * one file each; SST allows no top-level imports here, so run() imports them.
 */
export default $config({
  app(input) {
    return {
      name: "vidpipe",
      home: "aws",
      // `production` keeps its data (and cannot be removed by accident); other stages go entirely.
      removal: input?.stage === "production" ? "retain" : "remove",
      protect: input?.stage === "production",
      // The provider the infra/ code is written and tested against (package.json pins the same).
      providers: { aws: { version: "7.48.0" } }
    }
  },
  async run() {
    const { deploySettings } = await import("./infra/settings.ts")
    const { sstNetwork, networkOf } = await import("./infra/network.ts")
    const { sstFunctions } = await import("./infra/lambdas.ts")
    const { vidpipeStack } = await import("./infra/stack.ts")

    const settings = deploySettings(process.env, { name: $app.name, stage: $app.stage })
    const components = sstNetwork(settings)
    const stack = vidpipeStack(settings, { network: networkOf(components), makeFunction: sstFunctions(components.vpc) })
    return stack.outputs
  }
})

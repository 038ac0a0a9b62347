/** The bundled controller that the ConfigMap carries; build.mjs embeds it in the bundle (dist/). */
declare const __KUBEON_UPDATER_JS__: string | undefined;

export async function controllerBundle(): Promise<string> {
  if (typeof __KUBEON_UPDATER_JS__ === 'string') return __KUBEON_UPDATER_JS__;
  // Running from source (tsx, tests): bundle it now with the build's own recipe. A variable keeps
  // esbuild from pulling the build script (and esbuild itself) into the bundle.
  const recipe = '../../../scripts/bundle-updater.mjs';
  const { bundleUpdater } = (await import(recipe)) as { bundleUpdater: () => Promise<string> };
  return bundleUpdater();
}

/**
 * Route validators compiled on their first request instead of at start-up. Fastify compiles the
 * JSON schema of every route when the app starts (ajv, ~1 s of CPU for this app's few hundred
 * routes); a test file or a CLI command builds the app to use a handful of them. The compiler
 * is Fastify's own (@fastify/ajv-compiler) with the same options, so a route validates exactly
 * as before; only the moment of compiling moves. The server keeps compiling everything at start
 * (a broken schema stops it there): `buildApp` uses this only without background workers.
 */
import AjvCompiler from '@fastify/ajv-compiler';

type BuildCompilerFromPool = ReturnType<typeof AjvCompiler>;
type Compile = ReturnType<BuildCompilerFromPool>;
type RouteSchema = Parameters<Compile>[0];
type Validate = ReturnType<Compile>;

export function lazyValidatorFactory(): BuildCompilerFromPool {
  const fromPool = AjvCompiler();
  const factory = (externalSchemas: Parameters<BuildCompilerFromPool>[0], options: Parameters<BuildCompilerFromPool>[1]): Compile => {
    const compile = fromPool(externalSchemas, options);
    return (route: RouteSchema): Validate => {
      let compiled: Validate | undefined;
      // Fastify reads `.errors` from the function it was given, as ajv sets it on its own.
      const validate = ((data: unknown) => {
        compiled ??= compile(route);
        const ok = compiled(data);
        validate.errors = compiled.errors;
        return ok;
      }) as Validate;
      return validate;
    };
  };
  return factory as BuildCompilerFromPool;
}

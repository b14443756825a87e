// Validation of rendered objects against the Kubernetes schema, in two parts:
//  - kubernetes-models' validate(): types, enums, required fields. Its JSON schemas come from
//    Kubernetes' OpenAPI document, which does not forbid additional properties, so validate()
//    silently accepts an unknown field such as a misspelled `readinessProbes`.
//  - unknownFields(): the API server's strict field validation (`kubectl apply --validate=strict`),
//    offline: each object is type-checked by TypeScript as an object literal of kubernetes-models'
//    interface for its kind (generated from the same OpenAPI document), and TypeScript's excess
//    property check names every field the schema does not have, with its path.
import { join } from 'node:path';
import ts from 'typescript';
import type { K8sObject } from './render.ts';
import { objectName, repoRoot } from './render.ts';

interface Model {
  validate(): void;
}
type ModelClass = new (data: unknown) => Model;

/** kubernetes-models' class for the object's apiVersion and kind, e.g. apps/v1 Deployment. */
async function modelClass(o: K8sObject): Promise<ModelClass> {
  let mod: Record<string, unknown>;
  try {
    mod = (await import(`kubernetes-models/${o.apiVersion}`)) as Record<string, unknown>;
  } catch {
    throw new Error(`${objectName(o)}: unknown apiVersion ${o.apiVersion}`);
  }
  const model = mod[o.kind];
  if (typeof model !== 'function')
    throw new Error(`${objectName(o)}: ${o.apiVersion} has no kind ${o.kind}`);
  return model as ModelClass;
}

/**
 * kustomize wraps long base64 values of Secrets at 76 columns. The API server decodes []byte
 * fields with Go's base64 decoder, which skips line breaks; the "byte" format of kubernetes-models
 * does not, so line breaks are removed before validating (nothing else is changed).
 */
function asApiServerDecodes(o: K8sObject): K8sObject {
  if (o.kind !== 'Secret' || typeof o.data !== 'object' || o.data === null) return o;
  const data = Object.fromEntries(
    Object.entries(o.data as Record<string, string>).map(([k, v]) => [k, v.replace(/[\r\n]/g, '')]),
  );
  return { ...o, data };
}

/** kubernetes-models' validate(): returns the error message, or undefined when valid. */
export async function schemaError(o: K8sObject): Promise<string | undefined> {
  const Model = await modelClass(o);
  try {
    new Model(asApiServerDecodes(o)).validate();
    return undefined;
  } catch (error) {
    return `${objectName(o)}: ${error instanceof Error ? error.message : String(error)}`;
  }
}

const compilerOptions: ts.CompilerOptions = {
  module: ts.ModuleKind.NodeNext,
  moduleResolution: ts.ModuleResolutionKind.NodeNext,
  target: ts.ScriptTarget.ES2022,
  strict: true,
  noEmit: true,
  skipLibCheck: true,
  types: [],
};

/** Path of a node inside the object literal, e.g. spec.template.spec.containers[0].readinessProbes. */
function pathOf(node: ts.Node): string {
  const parts: string[] = [];
  let current: ts.Node = node;
  while (current.parent && !ts.isVariableDeclaration(current.parent)) {
    const parent: ts.Node = current.parent;
    if (ts.isPropertyAssignment(parent)) {
      parts.unshift(`.${(parent.name as ts.StringLiteral).text}`);
    } else if (ts.isArrayLiteralExpression(parent)) {
      parts.unshift(`[${parent.elements.indexOf(current as ts.Expression)}]`);
    }
    current = parent;
  }
  return parts.join('').replace(/^\./, '');
}

function nodeAt(source: ts.SourceFile, position: number): ts.Node {
  let found: ts.Node = source;
  const visit = (node: ts.Node): void => {
    if (node.getStart(source) <= position && position < node.getEnd()) {
      found = node;
      ts.forEachChild(node, visit);
    }
  };
  ts.forEachChild(source, visit);
  return found;
}

/**
 * Every field of every object that the Kubernetes schema does not define (and every value of
 * the wrong type), as "Kind/name: path: message". Empty when all objects are well-formed.
 */
export function unknownFields(objects: K8sObject[]): string[] {
  const file = join(repoRoot, 'tests/k8s/__rendered_objects__.ts');
  const imports = objects.map(
    (o, i) =>
      `import type { I${o.kind} as T${i} } from 'kubernetes-models/${o.apiVersion}/${o.kind}';`,
  );
  const declarations = objects.map(
    (o, i) => `export const o${i}: T${i} = ${JSON.stringify(o, null, 1)};`,
  );
  const text = [...imports, ...declarations].join('\n');
  const host = ts.createCompilerHost(compilerOptions);
  const getSourceFile = host.getSourceFile.bind(host);
  const fileExists = host.fileExists.bind(host);
  host.getSourceFile = (name, languageVersion, ...rest) =>
    name === file
      ? ts.createSourceFile(name, text, languageVersion, true)
      : getSourceFile(name, languageVersion, ...rest);
  host.fileExists = (name) => name === file || fileExists(name);
  const program = ts.createProgram([file], compilerOptions, host);
  const source = program.getSourceFile(file);
  if (!source) throw new Error('TypeScript did not load the rendered objects');
  const problems: string[] = [];
  for (const d of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(d.messageText, ' ');
    if (d.file !== source || d.start === undefined) {
      problems.push(message);
      continue;
    }
    const node = nodeAt(source, d.start);
    let declaration: ts.Node = node;
    while (declaration.parent && !ts.isVariableDeclaration(declaration))
      declaration = declaration.parent;
    const index = ts.isVariableDeclaration(declaration)
      ? Number((declaration.name as ts.Identifier).text.slice(1))
      : -1;
    const owner = objects[index];
    problems.push(owner ? `${objectName(owner)}: ${pathOf(node)}: ${message}` : message);
  }
  return problems;
}

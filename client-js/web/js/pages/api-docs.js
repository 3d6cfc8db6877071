// API reference page: lists the operations of /v1/openapi.json (method, path, what it
// does, authentication, parameters, body and answers). Plain DOM, no inline script.

const METHODS = ['get', 'post', 'put', 'patch', 'delete'];

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) node.setAttribute(key, value);
  for (const child of children) {
    if (child !== null && child !== undefined) node.append(child);
  }
  return node;
}

/** The name of a `$ref`ed schema, or a short description of an inline one. */
function schemaName(schema) {
  if (!schema) return '';
  if (schema.$ref) return schema.$ref.split('/').pop();
  if (schema.type === 'array') return `array of ${schemaName(schema.items)}`;
  if (Array.isArray(schema.type)) return schema.type.join(' or ');
  return schema.type || 'value';
}

function jsonSchemaOf(content) {
  return content && content['application/json'] ? content['application/json'].schema : null;
}

function authText(security) {
  if (!security) return 'none';
  const optional = security.some((req) => Object.keys(req).length === 0);
  return optional ? 'optional bearer token' : 'bearer token';
}

function operationView(method, path, op) {
  const details = el('dl', { class: 'api-details' });
  const add = (term, value) => details.append(el('dt', null, term), el('dd', null, value));
  add('Authentication', authText(op.security));
  for (const param of op.parameters || []) {
    add(`${param.in} ${param.name}`, `${schemaName(param.schema)}${param.required ? ' (required)' : ''} — ${param.description || ''}`);
  }
  if (op.requestBody) add('Body', schemaName(jsonSchemaOf(op.requestBody.content)));
  const answers = el('ul');
  for (const [status, response] of Object.entries(op.responses || {})) {
    const schema = schemaName(jsonSchemaOf(response.content));
    answers.append(el('li', null, el('code', null, status), ` ${schema ? `${schema}: ` : ''}${response.description || ''}`));
  }
  add('Answers', answers);
  return el(
    'section',
    { class: 'api-operation', 'data-testid': 'api-operation' },
    el('h2', null, el('code', null, `${method.toUpperCase()} ${path}`)),
    el('p', null, op.summary || ''),
    details,
  );
}

function schemaView(name, schema) {
  const rows = el('ul');
  for (const [field, prop] of Object.entries(schema.properties || {})) {
    const required = (schema.required || []).includes(field) ? '' : ' (optional)';
    rows.append(el('li', null, el('code', null, field), ` ${schemaName(prop)}${required} ${prop.description || ''}`));
  }
  if (schema.enum) rows.append(el('li', null, `one of ${schema.enum.join(', ')}`));
  return el('section', { class: 'api-schema' }, el('h3', null, name), rows);
}

async function load() {
  const status = document.getElementById('status');
  const list = document.getElementById('operations');
  try {
    const res = await fetch('/v1/openapi.json');
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const doc = await res.json();
    const views = [];
    for (const [path, item] of Object.entries(doc.paths || {})) {
      for (const method of METHODS) {
        if (item[method]) views.push(operationView(method, path, item[method]));
      }
    }
    const schemas = Object.entries((doc.components && doc.components.schemas) || {});
    list.replaceChildren(...views, el('h2', null, 'Schemas'), ...schemas.map(([name, s]) => schemaView(name, s)));
    status.replaceChildren();
  } catch (err) {
    status.textContent = `Could not load the API document — ${err.message}`;
  }
}

load();

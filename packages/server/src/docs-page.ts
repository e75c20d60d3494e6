import { createHash } from "node:crypto";

// A page that renders `/openapi.json` with no third-party script: the API is often on a machine without internet, and
// a page on the API's origin should not run code from elsewhere. The document needs a token, which the page asks for
// and keeps in sessionStorage (never in a cookie, so no other site can make the browser use it).

const STYLE = `
body{font:14px/1.45 system-ui,sans-serif;margin:0 auto;max-width:1000px;padding:1rem 1.5rem;color:#1f2328}
h1{font-size:1.4rem}h2{font-size:1.1rem;margin-top:2rem;border-bottom:1px solid #d0d7de}
details{border:1px solid #d0d7de;border-radius:6px;margin:.4rem 0;padding:.3rem .6rem}
summary{cursor:pointer}code,pre{font:12px ui-monospace,monospace}pre{background:#f6f8fa;padding:.6rem;overflow:auto}
.m{display:inline-block;min-width:4.2rem;font-weight:600}.GET{color:#0969da}.POST{color:#1a7f37}.PUT,.PATCH{color:#9a6700}.DELETE{color:#cf222e}
form{margin:1rem 0}input{width:22rem;padding:.3rem}#error{color:#cf222e}`;

const SCRIPT = `
const form=document.getElementById("auth"),out=document.getElementById("out"),err=document.getElementById("error");
const el=(tag,attrs,...children)=>{const node=document.createElement(tag);Object.assign(node,attrs||{});node.append(...children);return node};
async function load(){
  const token=sessionStorage.getItem("mcpstore-token")||"";
  if(!token){err.textContent="Enter an admin or agent token to load /openapi.json.";return}
  const response=await fetch("openapi.json",{headers:{authorization:"Bearer "+token}});
  if(!response.ok){err.textContent="GET /openapi.json: "+response.status+" "+(await response.text());return}
  err.textContent="";const doc=await response.json();out.replaceChildren();
  out.append(el("h1",{},doc.info.title+" "+doc.info.version),el("p",{},doc.info.description||""));
  const byTag={};
  for(const [path,methods] of Object.entries(doc.paths))for(const [method,op] of Object.entries(methods))(byTag[op.tags?.[0]||""]??=[]).push([path,method.toUpperCase(),op]);
  for(const [tag,ops] of Object.entries(byTag)){
    out.append(el("h2",{},tag));
    for(const [path,method,op] of ops){
      const body=op.requestBody?.content?.["application/json"]?.schema,ok=op.responses?.["200"]?.content;
      out.append(el("details",{},el("summary",{},el("span",{className:"m "+method},method),el("code",{},path)," ",op.summary||""),
        ...(op.parameters?.length?[el("p",{},"Parameters: "+op.parameters.map(p=>p.name+" ("+p.in+(p.required?", required":"")+")").join(", "))]:[]),
        ...(body?[el("p",{},"Body:"),el("pre",{},JSON.stringify(resolve(doc,body),null,2))]:[]),
        ...(ok?[el("p",{},"200: "+Object.keys(ok).join(", ")),el("pre",{},JSON.stringify(resolve(doc,Object.values(ok)[0].schema),null,2))]:[])));
    }
  }
}
function resolve(doc,schema,depth=0){
  if(schema&&schema.$ref&&depth<4)return resolve(doc,doc.components.schemas[schema.$ref.split("/").pop()],depth+1);
  if(Array.isArray(schema))return schema.map(s=>resolve(doc,s,depth));
  if(schema&&typeof schema==="object")return Object.fromEntries(Object.entries(schema).map(([k,v])=>[k,resolve(doc,v,depth)]));
  return schema;
}
form.addEventListener("submit",event=>{event.preventDefault();sessionStorage.setItem("mcpstore-token",form.token.value.trim());form.token.value="";load()});
load();`;

const hash = (text: string) => `'sha256-${createHash("sha256").update(text).digest("base64")}'`;

/** The page's HTML. */
export const DOCS_PAGE_HTML = `<!doctype html>
<html lang="en"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width,initial-scale=1">
<title>MCPStore API</title><style>${STYLE}</style></head>
<body><form id="auth"><label>Token <input name="token" type="password" autocomplete="off" placeholder="admin or agent token"></label>
<button>Load</button> <span id="error"></span></form><div id="out"></div>
<script>${SCRIPT}</script></body></html>`;

/** The page's Content-Security-Policy: its own inline script and style (by hash), fetches to this origin, nothing else. */
export const DOCS_PAGE_CSP = `default-src 'none'; script-src ${hash(SCRIPT)}; style-src ${hash(STYLE)}; connect-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'`;

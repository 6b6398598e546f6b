"""Renders the chat-template test cases with Python jinja2 in the environment Hugging Face's apply_chat_template uses
(trim_blocks, lstrip_blocks, loopcontrols, raise_exception, tojson with non-ASCII kept) and writes them with their
expected text for tests/VisualGen.Tests/Tokenizers/ChatTemplateTests.cs.
  python3 tools/conformance/chat_template_cases.py CASES.json OUT.json   (CASES: [{name, template, vars}])"""
import json, sys, jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment
from jinja2.ext import loopcontrols
def raise_exception(m): raise jinja2.exceptions.TemplateError(m)
def tojson(x, ensure_ascii=False, indent=None, separators=None, sort_keys=False):
    return json.dumps(x, ensure_ascii=ensure_ascii, indent=indent, separators=separators, sort_keys=sort_keys)
env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True, extensions=[loopcontrols])
env.filters["tojson"] = tojson
env.globals["raise_exception"] = raise_exception
cases = json.load(open(sys.argv[1]))
out = []
for c in cases:
    t = env.from_string(c["template"])
    out.append({"name": c["name"], "template": c["template"], "vars": c["vars"], "expected": t.render(**c["vars"])})
json.dump(out, open(sys.argv[2],'w'), ensure_ascii=False, indent=1)
print(len(out))

#!/usr/bin/env node
/*
 * Cramp Coach end-to-end runner.
 *
 *   node tests/e2e/run.js --url http://127.0.0.1:PORT/ [options] [conversation files...]
 *
 * Drives the running web service over HTTP with virtual-alexa: every utterance is resolved
 * through interaction_models/<locale>.json (the conversation's "locale", or the file's; default
 * en-US), virtual-alexa builds the request envelope (locale, session,
 * attributes, entity resolutions), the skill's JSON response is checked against the
 * conversation scripts in tests/e2e/conversations/*.json, and every SSML string it returns
 * (speech and reprompt) goes through ssml-check-core (platform amazon). Any script failure or
 * SSML issue fails the run. The last line is "N passed, M failed" (conversations).
 *
 * Options:
 *   --url URL         the skill endpoint (required)
 *   --model PATH      interaction model for every locale (default interaction_models/<locale>.json)
 *   --only TEXT       run only conversations whose name contains TEXT
 *   --pending         run tests/e2e/pending/*.json (known bugs / model gaps) instead
 *   --verbose         print every turn: utterance, resolved intent and slots, speech
 *   --jobs N          conversations in flight at once (default 4)
 *   --matcher M       typed (default: the local resolver's algorithm, splits adjacent slots)
 *                     or stock (virtual-core's own greedy matcher, unmodified)
 *   --stock-check     no server: read every scripted utterance with both matchers; each must
 *                     read the same under stock virtual-core or be listed, with its reason, in
 *                     --gaps FILE (default tests/e2e/stock_matcher_gaps.json)
 *   --resolve         no server: read a JSON list of utterances on stdin, print both readings
 *
 * The script format is documented in tests/e2e/README.md.
 */
"use strict";

const fs = require("fs");
const path = require("path");

const ROOT = path.resolve(__dirname, "..", "..");

function requireOrExplain(name) {
  try {
    return require(name);
  } catch (error) {
    if (error && error.code === "MODULE_NOT_FOUND") {
      console.error(`e2e: the npm package "${name}" is not installed: run npm ci in ${ROOT}`);
      process.exit(2);
    }
    throw error;
  }
}

// virtual-alexa loads aws-sdk v2 (its DynamoDB mock), which prints a maintenance notice.
process.env.AWS_SDK_JS_SUPPRESS_MAINTENANCE_MODE_MESSAGE = "1";
const { VirtualAlexa } = requireOrExplain("virtual-alexa");
const ssmlCheck = requireOrExplain("ssml-check-core");
// virtual-alexa's own NLU: the copy virtual-alexa itself loads (a pinned dependency of it).
const VA_DIR = path.dirname(require.resolve("virtual-alexa"));
const virtualCore = require(require.resolve("virtual-core", { paths: [VA_DIR] }));
const { SamplePhrase } = require(
  require.resolve("virtual-core/lib/src/SampleUtterances", { paths: [VA_DIR] }));

// ------------------------------------------------------------------------------ arguments

function parseArgs(argv) {
  const args = { files: [], jobs: 4, verbose: false, pending: false };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) usage(`${a} needs a value`);
      return argv[++i];
    };
    if (a === "--url") args.url = value();
    else if (a === "--model") args.model = value();
    else if (a === "--only") args.only = value();
    else if (a === "--jobs") args.jobs = Math.max(1, parseInt(value(), 10) || 1);
    else if (a === "--verbose" || a === "-v") args.verbose = true;
    else if (a === "--pending") args.pending = true;
    else if (a === "--matcher") args.matcher = value();
    else if (a === "--stock-check") args.stockCheck = true;
    else if (a === "--gaps") args.gaps = value();
    else if (a === "--resolve") args.resolve = true;
    else if (a === "--help" || a === "-h") usage();
    else if (a.startsWith("--")) usage(`unknown option ${a}`);
    else args.files.push(a);
  }
  if (!args.url && !args.stockCheck && !args.resolve) usage("--url is required");
  args.matcher = args.matcher || "typed";
  if (!["typed", "stock"].includes(args.matcher)) usage("--matcher is typed or stock");
  args.gaps = args.gaps || path.join(__dirname, "stock_matcher_gaps.json");
  if (args.files.length === 0) {
    const dir = path.join(__dirname, args.pending ? "pending" : "conversations");
    args.files = fs.existsSync(dir)
      ? fs.readdirSync(dir).filter((f) => f.endsWith(".json")).sort().map((f) => path.join(dir, f))
      : [];
  }
  return args;
}

function usage(message) {
  if (message) console.error(`e2e: ${message}`);
  console.error("usage: node tests/e2e/run.js --url http://127.0.0.1:PORT/ [--only TEXT] " +
    "[--pending] [--verbose] [--jobs N] [--matcher typed|stock] [files...]\n" +
    "       node tests/e2e/run.js --stock-check [--gaps FILE] [--verbose] [files...]\n" +
    "       node tests/e2e/run.js --resolve < utterances.json");
  process.exit(2);
}

// ------------------------------------------------------------------------------- constants

// The skill id the e2e server is started with (tests/e2e/serve_for_e2e.py E2E_SKILL_ID).
const SKILL_ID = process.env.E2E_SKILL_ID || "amzn1.ask.skill.00000000-0000-4000-8000-0000000000e2";
// The middle of the night, as in tests/conftest.py. Each turn moves a virtual clock on
// (default 5 s, or the turn's advance_seconds) and the request timestamp is set from it.
const T0_MS = Date.UTC(2026, 10, 21, 3, 0, 0);
const DEFAULT_TURN_SECONDS = 5;
const INVOCATION = "cramp coach";
const ERROR_PHRASE_KEY = "error";

// ----------------------------------------------------------------------------- the content

const DEFAULT_LOCALE = "en-US";

/* Every locale's content as the skill loads it: the base overlaid by the locale, phone-number
 * placeholders filled. Exported by the Python loader (python -m cramp_coach.content --export),
 * so the overlay rules live in one place. E2E_PYTHON picks the interpreter. */
function loadAllContent() {
  const { execFileSync } = require("child_process");
  const venv = path.join(ROOT, ".venv", "bin", "python");
  const python = process.env.E2E_PYTHON || (fs.existsSync(venv) ? venv : "python3");
  const env = { ...process.env, PYTHONPATH: path.join(ROOT, "lambda") };
  const out = execFileSync(python, ["-m", "cramp_coach.content", "--export"], { env, cwd: ROOT });
  return JSON.parse(out.toString("utf8"));
}
const CONTENT = loadAllContent();
// Every spoken phone number form of every locale ("9 1 1", "triple zero", ...).
const ALL_NUMBER_FORMS = new Set(Object.values(CONTENT).flatMap(
  (c) => Object.values(c.numbers).map((n) => n.spoken.toLowerCase())));
// The loopback Settings API test_e2e.py serves (the device's time zone); unset by hand: then a
// conversation with a "device" cannot run.
const SETTINGS_API = process.env.E2E_SETTINGS_API || "";

function contentFor(locale) {
  const content = CONTENT[locale];
  if (!content) throw new Error(`no content for locale ${locale}`);
  return content;
}

function getPath(object, dotted) {
  let here = object;
  for (const key of dotted.split(".")) {
    if (here === null || typeof here !== "object" || !(key in here)) return undefined;
    here = here[key];
  }
  return here;
}

/* A text in a script: literal, or a reference into the content (so scripts don't copy it):
 *   @step:CALF:A2        step A2 of the calf routine (partner, alone, gentle or AB ids)
 *   @aftercare:C1        aftercare step C1;  @aftercare:reassurance
 *   @rf:RF_PE            red flag script;    @flag:PREGNANT  flag text
 *   @phrase:key          phrases.json; placeholders filled with |name=calf|step=2
 *   @content:gentle_stop protocols.json top-level text (opening, safety_check, ...)
 *   @protocols:a.b.c     any string in protocols.json by its path
 */
function resolveText(ref, locale = DEFAULT_LOCALE) {
  if (typeof ref !== "string") throw new Error(`expected a string, got ${JSON.stringify(ref)}`);
  if (!ref.startsWith("@")) return ref;
  const { protocols, phrases } = contentFor(locale);
  const [head, ...params] = ref.split("|");
  const colon = head.indexOf(":");
  const kind = head.slice(1, colon);
  const arg = head.slice(colon + 1);
  let text;
  if (kind === "step") {
    const [muscle, id] = arg.split(":");
    const m = protocols.muscles[muscle];
    if (m) {
      for (const track of ["partner", "alone", "gentle", "gentle_alone"]) {
        const step = (m[track] || []).find((s) => s.id === id);
        if (step) { text = step.text; break; }
      }
    }
  } else if (kind === "aftercare") {
    text = arg === "reassurance"
      ? protocols.aftercare.reassurance.text
      : (protocols.aftercare.steps.find((s) => s.id === arg) || {}).text;
  } else if (kind === "rf") {
    text = (protocols.red_flags[arg] || {}).script;
  } else if (kind === "flag") {
    text = (protocols.flags[arg] || {}).text;
  } else if (kind === "phrase") {
    text = phrases[arg];
  } else if (kind === "content") {
    text = (protocols[arg] || {}).text;
  } else if (kind === "protocols") {
    text = getPath(protocols, arg);
  }
  if (typeof text !== "string") throw new Error(`unknown content reference ${ref}`);
  for (const param of params) {
    const [key, value] = param.split("=");
    text = text.split(`{${key}}`).join(value);
  }
  if (/\{[a-z_]+\}/.test(text)) throw new Error(`${ref}: fill the placeholders with |key=value`);
  return text;
}

// ---------------------------------------------------------------------- speech and SSML

function plain(ssml) {
  return (ssml || "")
    .replace(/<[^>]+>/g, " ")
    .replace(/&lt;/g, "<").replace(/&gt;/g, ">").replace(/&quot;/g, "\"")
    .replace(/&apos;/g, "'").replace(/&amp;/g, "&")
    .replace(/\s+/g, " ")
    .trim();
}

function norm(text) {
  return text.replace(/[\u2018\u2019]/g, "'").replace(/\s+/g, " ").trim().toLowerCase();
}

const ssmlStats = { checked: 0, issues: [] };
const ssmlCache = new Map();

async function checkSsml(ssml) {
  ssmlStats.checked++;
  if (!ssmlCache.has(ssml)) {
    const problems = [];
    const errors = await ssmlCheck.check(ssml, { platform: "amazon", locale: "en-US" });
    for (const e of errors || []) problems.push(JSON.stringify(e));
    if (!/^<speak>[\s\S]*<\/speak>$/.test(ssml)) problems.push("not wrapped in <speak>...</speak>");
    if (ssml.length > 8000) problems.push(`${ssml.length} characters (Alexa's limit is 8000)`);
    ssmlCache.set(ssml, problems);
  }
  return ssmlCache.get(ssml);
}

// ------------------------------------------------------------------ utterance resolution

/*
 * virtual-core (virtual-alexa's NLU) turns each sample into a regex by replacing every {slot}
 * with a greedy (.*) and trimming the spaces around it, then type-checks the one match the
 * regex finds. Samples with adjacent slots ("{helper} {muscle} is cramping") can never match:
 * "her calf" is captured whole by the first slot. The typed matcher below replaces
 * SamplePhrase.matchesUtterance with the local resolver's algorithm
 * (lambda/cramp_coach/hosting/local/nlu.py, exact pass): a sample is a list of literal words and slots,
 * a slot takes a run of words that is one of its type's values or synonyms (the longest that
 * lets the rest fit first), and every split of the utterance is tried. Scoring (literal
 * characters, then filled slots) and everything after it (intent and slot JSON, entity
 * resolution, session, envelope) stay virtual-alexa's.
 *
 * The stock matcher is kept: `--matcher stock` uses it for a whole run, `--stock-check`
 * compares both on every utterance of the conversation scripts, and `--resolve` prints both
 * readings of utterances read from stdin (tests/test_phrasings.py uses it).
 */
function cleanUtterance(text) {
  // The punctuation virtual-core drops (apostrophes are kept: "it's", "wife's").
  return text.replace(/[!"¿?|#$%/()=+\-_<>*{}·¡[\].,;:]/g, " ").replace(/\s+/g, " ").trim();
}

function words(text) {
  const cleaned = cleanUtterance(text.replace(/\u2019/g, "'").toLowerCase());
  return cleaned ? cleaned.split(" ") : [];
}

/* The locale whose model the next match runs against (send() sets it just before it
 * matches, in the same tick); the caches below are keyed by it. */
let matchingLocale = DEFAULT_LOCALE;
let matcherMode = "typed"; // "typed" | "stock"
const stockMatchesUtterance = SamplePhrase.prototype.matchesUtterance;

/* What a listener says into a built-in slot type the model lists no values for: Alexa's own
 * NLU fills AMAZON.TIME from any time of day; the typed matcher needs the phrases. */
const BUILTIN_SLOT_PHRASES = (() => {
  const hours = ["one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten",
    "eleven", "twelve"];
  const minutes = ["o'clock", "oh five", "ten", "fifteen", "twenty", "thirty", "forty",
    "forty five", "forty-five", "fifty"];
  const phrases = new Set(["midnight", "noon"]);
  for (const [i, h] of hours.entries()) {
    const forms = [h, `${i + 1}`];
    for (const f of forms) {
      for (const tail of ["", " pm", " p m", " am", " a m", " at night", " in the evening"]) {
        phrases.add(`${f}${tail}`);
        for (const m of minutes) phrases.add(`${f} ${m}${tail}`);
        for (const lead of ["half", "half past", "quarter past", "quarter to"]) {
          phrases.add(`${lead} ${f}${tail}`);
        }
      }
    }
  }
  const table = (set) => {
    const cleaned = new Set([...set].map((p) => words(p).join(" ")).filter((p) => p));
    return { phrases: cleaned, longest: Math.max(...[...cleaned].map((p) => p.split(" ").length)) };
  };
  return { "AMAZON.TIME": table(phrases) };
})();

function installTypedSlotMatcher() {
  const typeTables = new Map(); // type name -> { phrases: Set, longest: words }
  const typeTable = (type) => {
    if (!typeTables.has(`${matchingLocale}|${type.name}`)) {
      const phrases = new Set();
      for (const v of type.values) {
        for (const p of [v.name.value, ...(v.name.synonyms || [])]) {
          const w = words(p);
          if (w.length) phrases.add(w.join(" "));
        }
      }
      const longest = Math.max(0, ...[...phrases].map((p) => p.split(" ").length));
      typeTables.set(`${matchingLocale}|${type.name}`, { phrases, longest });
    }
    return typeTables.get(`${matchingLocale}|${type.name}`);
  };
  const sampleCache = new Map(); // "intent|phrase" -> { tokens, names }: one model per conversation
  const compile = (sample) => {
    const key = `${matchingLocale}|${sample.intent}|${sample.phrase}`;
    if (!sampleCache.has(key)) {
      const model = sample.sampleUtterances.interactionModel();
      const intent = model.intentSchema.intent(sample.intent);
      const tokens = [];
      const names = [];
      for (const part of sample.phrase.split(/(\{[^}]+\})/)) {
        if (!part.startsWith("{")) {
          tokens.push(...words(part));
          continue;
        }
        const slotName = part.slice(1, -1).split("|").pop();
        const slot = intent && intent.slotForName(slotName);
        const builtin = slot && BUILTIN_SLOT_PHRASES[slot.type];
        const type = slot && !builtin && model.slotTypes.slotType(slot.type);
        if (!type && !builtin) {
          throw new Error(`sample "${sample.phrase}": no slot type for {${slotName}}`);
        }
        names.push(slotName);
        tokens.push({ table: builtin || typeTable(type) });
      }
      sampleCache.set(key, { tokens, names });
    }
    return sampleCache.get(key);
  };
  const split = (tokens, heard) => {
    const walk = (i, j) => {
      if (i === tokens.length) return j === heard.length ? [] : null;
      const token = tokens[i];
      if (typeof token === "string") return heard[j] === token ? walk(i + 1, j + 1) : null;
      const most = Math.min(heard.length - (tokens.length - i - 1), j + token.table.longest);
      for (let end = most; end > j; end--) {
        const value = heard.slice(j, end).join(" ");
        if (!token.table.phrases.has(value)) continue;
        const rest = walk(i + 1, end);
        if (rest !== null) return [value, ...rest];
      }
      return null;
    };
    return walk(0, 0);
  };
  SamplePhrase.prototype.matchesUtterance = function (utterance) {
    if (matcherMode === "stock") return stockMatchesUtterance.call(this, utterance);
    const sample = this;
    const { tokens, names } = compile(sample);
    sample.slotNames = names;
    const heard = words(utterance);
    const values = split(tokens, heard);
    const length = heard.join(" ").length;
    return {
      samplePhrase: sample,
      matches: () => values !== null,
      slotValues: () => values || [],
      score: () => (values ? length - values.reduce((n, v) => n + v.length, 0) : 0),
      scoreSlots: () => (values || []).length,
    };
  };
}

/* One utterance read by virtual-core under the current matcher: intent and slot ids. */
function readUtterance(model, text) {
  const utterance = new virtualCore.Utterance(model, text);
  if (!utterance.matched()) return { intent: "AMAZON.FallbackIntent", slots: {} };
  const intentName = utterance.intent();
  const intent = model.intentSchema.intent(intentName);
  const slots = {};
  for (const [name, value] of Object.entries(utterance.toJSON())) {
    const slot = intent && intent.slotForName(name);
    const match = slot ? model.slotTypes.matchesSlot(slot.type, value) : null;
    const id = match && match.enumeratedValue ? match.enumeratedValue.id || null : null;
    slots[name] = { value, id };
  }
  return { intent: intentName, slots };
}

function readBoth(model, text) {
  const previous = matcherMode;
  try {
    matcherMode = "stock";
    const stock = readUtterance(model, text);
    matcherMode = "typed";
    const typed = readUtterance(model, text);
    return { stock, typed };
  } finally {
    matcherMode = previous;
  }
}

function modelOf(modelPath) {
  const alexa = VirtualAlexa.Builder()
    .interactionModelFile(modelPath)
    .skillURL("http://127.0.0.1:9/") // never called: only the model is read
    .applicationID(SKILL_ID)
    .locale("en-US")
    .create();
  return alexa.context().interactionModel();
}

// ---------------------------------------------------------------------- script validation

const ACTIONS = ["say", "launch", "intend", "end", "permission"];
const EXPECTATIONS = [
  "intent", "slots", "mode", "muscle", "variant", "track", "step", "red_flag", "question",
  "starts_with", "says", "not_says", "says_red_flag", "reprompt_says", "ssml_has", "ended",
  "silent", "allow_error", "directive", "reminder_created", "reminders_left",
];
// The Reminders API stand-in the test starts (tests/reminders_server.py): its URL and the
// access token every request then carries; a conversation with "reminders" uses it.
const REMINDERS_URL = process.env.E2E_REMINDERS_URL || "";
const REMINDERS_TOKEN = "test-api-access-token";
const REMINDERS_SCOPE = "alexa::alerts:reminders:skill:readwrite";
const OTHER = ["new_session", "advance_seconds", "note"];
const STATE_KEYS = ["mode", "muscle", "variant", "track", "step", "red_flag", "question"];

/* The skill's typed session state (phase + context), flattened to what the scripts check. */
function flatState(attributes) {
  const phase = (attributes || {}).phase || {};
  const ctx = (attributes || {}).ctx || {};
  const routine = phase.routine || {};
  return {
    mode: phase.kind,
    muscle: routine.muscle,
    variant: ctx.variant,
    track: routine.track,
    step: routine.step,
    red_flag: phase.flag,
    // The leg check and the breathing follow-up are named as the scripts know them.
    question: ["asking", "asking_again"].includes(routine.check) ? "safety_check"
      : phase.asking_breath ? "breath_check" : routine.question,
  };
}

function validateTurn(turn, where, locale) {
  const errors = [];
  if (typeof turn !== "object" || turn === null || Array.isArray(turn)) {
    return [`${where}: a turn must be an object`];
  }
  for (const key of Object.keys(turn)) {
    if (!ACTIONS.includes(key) && !EXPECTATIONS.includes(key) && !OTHER.includes(key)) {
      errors.push(`${where}: unknown key "${key}"`);
    }
  }
  const actions = ACTIONS.filter((a) => a in turn);
  if (actions.length !== 1) errors.push(`${where}: needs exactly one of ${ACTIONS.join(", ")}`);
  if ("permission" in turn && !["ACCEPTED", "DENIED", "NOT_ANSWERED"].includes(turn.permission)) {
    errors.push(`${where}: "permission" is ACCEPTED, DENIED or NOT_ANSWERED`);
  }
  for (const key of ["says", "not_says", "reprompt_says", "ssml_has"]) {
    if (key in turn && !Array.isArray(turn[key])) errors.push(`${where}: "${key}" must be a list`);
  }
  for (const key of ["says", "not_says", "reprompt_says"]) {
    for (const ref of turn[key] || []) {
      try { resolveText(ref, locale); } catch (e) { errors.push(`${where}: ${e.message}`); }
    }
  }
  for (const key of ["starts_with"]) {
    if (key in turn) {
      try { resolveText(turn[key], locale); } catch (e) { errors.push(`${where}: ${e.message}`); }
    }
  }
  if ("says_red_flag" in turn && !contentFor(locale).protocols.red_flags[turn.says_red_flag]) {
    errors.push(`${where}: unknown red flag ${turn.says_red_flag}`);
  }
  return errors;
}

function loadFiles(files) {
  const conversations = [];
  const errors = [];
  for (const file of files) {
    let data;
    try {
      data = JSON.parse(fs.readFileSync(file, "utf8"));
    } catch (e) {
      errors.push(`${file}: ${e.message}`);
      continue;
    }
    const list = Array.isArray(data) ? data : data.conversations;
    if (!Array.isArray(list)) {
      errors.push(`${file}: expected {"conversations": [...]}`);
      continue;
    }
    for (const [i, c] of list.entries()) {
      const where = `${path.basename(file)}#${i} ${c && c.name}`;
      if (!c || typeof c.name !== "string" || !Array.isArray(c.turns) || c.turns.length === 0) {
        errors.push(`${where}: a conversation needs a "name" and a non-empty "turns" list`);
        continue;
      }
      // "locale" on the conversation, else on the file: its model, request locale and content.
      const locale = c.locale || (Array.isArray(data) ? undefined : data.locale) || DEFAULT_LOCALE;
      if (!CONTENT[locale] || !fs.existsSync(modelPath(locale))) {
        errors.push(`${where}: locale ${locale} has no content or no interaction model`);
        continue;
      }
      c.turns.forEach((t, j) => errors.push(...validateTurn(t, `${where} turn ${j + 1}`, locale)));
      // "device": {"time_zone": "Pacific/Auckland", "country": "NZ"}: an Echo whose Settings
      // API answers that zone; the invariants then expect that country's numbers.
      if (c.device !== undefined) {
        const d = c.device;
        if (!d || typeof d.time_zone !== "string" || !/^[A-Za-z_]+(\/[A-Za-z_\-]+)*$/.test(d.time_zone)
          || !(CONTENT[locale].countries || {})[d.country]) {
          errors.push(`${where}: "device" needs a time_zone and a country of the table`);
        }
      }
      if ("reminders" in c && !["granted", "not_granted"].includes(c.reminders)) {
        errors.push(`${where}: "reminders" is "granted" or "not_granted"`);
      }
      conversations.push({ ...c, locale, file: path.basename(file) });
    }
  }
  const names = new Set();
  for (const c of conversations) {
    if (names.has(c.name)) errors.push(`duplicate conversation name: ${c.name}`);
    names.add(c.name);
  }
  return { conversations, errors };
}

// ------------------------------------------------------------------------- one conversation

function resolvedSlots(intent) {
  const out = {};
  for (const [name, slot] of Object.entries((intent && intent.slots) || {})) {
    if (!slot || slot.value === undefined || slot.value === null || slot.value === "") {
      out[name] = null;
      continue;
    }
    const authorities = (slot.resolutions && slot.resolutions.resolutionsPerAuthority) || [];
    const matched = authorities.find((a) => a.status && a.status.code === "ER_SUCCESS_MATCH");
    out[name] = matched ? matched.values[0].value.id : `?${slot.value}`;
  }
  return out;
}

function iso(ms) {
  return new Date(ms).toISOString().slice(0, 19) + "Z";
}

function modelPath(locale) {
  return path.join(ROOT, "interaction_models", `${locale}.json`);
}

class Runner {
  constructor(args) {
    this.args = args;
    this.models = new Map();
    this.turnCount = 0;
    this.userCount = 0;
  }

  model(locale) {
    const file = this.args.model || modelPath(locale);
    if (!this.models.has(file)) this.models.set(file, JSON.parse(fs.readFileSync(file, "utf8")));
    return this.models.get(file);
  }

  newAlexa(state, locale, device) {
    const alexa = VirtualAlexa.Builder()
      .interactionModel(this.model(locale))
      .skillURL(this.args.url)
      .applicationID(SKILL_ID)
      .locale(locale)
      .create();
    alexa.filter((request) => {
      request.request.timestamp = iso(state.clock);
      if (SETTINGS_API) {
        // Never Amazon's endpoint: the loopback Settings API answers by device id
        // ("zone.Pacific.Auckland" -> Pacific/Auckland; any other device has no time zone).
        request.context.System.apiEndpoint = SETTINGS_API;
        if (device) {
          request.context.System.device.deviceId = `zone.${device.time_zone.split("/").join(".")}`;
          request.context.System.apiAccessToken = process.env.E2E_SETTINGS_TOKEN || "e2e-token";
        }
      }
      if (state.reminders) {
        // Alexa's APIs at the tests' stand-in; the permission as the user has granted it.
        const system = request.context.System;
        system.apiEndpoint = REMINDERS_URL;
        system.apiAccessToken = state.token;
        if (state.granted) {
          system.user.permissions = { scopes: { [REMINDERS_SCOPE]: { status: "GRANTED" } } };
        }
      }
      if (state.answer) {
        // Alexa's answer to the skill's Connections.SendRequest (the permission, by voice).
        const { requestId, locale: sent } = request.request;
        request.request = {
          type: "Connections.Response", requestId, timestamp: iso(state.clock), locale: sent,
          name: "AskFor", status: { code: "200", message: "OK" },
          payload: { permissionScope: REMINDERS_SCOPE, status: state.answer },
          token: state.askToken || "",
        };
        state.answer = null;
      }
      state.lastRequest = request;
    });
    return alexa;
  }

  /* "Alexa, ask cramp coach to ...": (true, rest) for an invocation, (false, text) otherwise. */
  static invocation(text) {
    const re = new RegExp(
      `^(?:alexa[\\s,]+)?(?:ask|tell|open|launch|start|talk to|use|load|begin)\\s+${INVOCATION}` +
      "(?:\\s*[,.]?\\s+(?:to|that|about|for|if|whether|and)\\b)?\\s*(.*)$", "i");
    const match = re.exec(text.trim());
    if (!match) return [false, text.trim()];
    return [true, match[1].replace(/^[,.\s]+/, "").trim()];
  }

  async send(alexa, state, turn, locale) {
    // Returns { response, how } where how describes what was sent.
    if ("launch" in turn) {
      alexa.context().endSession(); // a launch always opens a new session
      return { response: await alexa.launch(), how: "LaunchRequest" };
    }
    if ("end" in turn) {
      const reason = turn.end === "timeout" ? 1 : turn.end === "error" ? 0 : 2;
      return { response: await alexa.endSession(reason), how: "SessionEndedRequest" };
    }
    if ("permission" in turn) {
      // The user answers Alexa's own permission question; the skill hears it as a
      // Connections.Response with the token of the directive that asked.
      state.answer = turn.permission;
      if (turn.permission === "ACCEPTED") state.granted = true;
      return { response: await alexa.intend("AMAZON.YesIntent"), how: "Connections.Response" };
    }
    if ("intend" in turn) {
      const { name, slots } = turn.intend;
      return { response: await alexa.intend(name, slots || {}), how: `explicit ${name}` };
    }
    const [invoked, text] = Runner.invocation(turn.say);
    if (invoked) {
      alexa.context().endSession(); // a new session, same user and device
      if (!text) return { response: await alexa.launch(), how: "LaunchRequest" };
    }
    if (/^(?:alexa[\s,]+)?exit$/i.test(text)) {
      // As on a device (and in virtual-alexa's own utter()): "exit" closes the session.
      return { response: await alexa.endSession(2), how: "SessionEndedRequest" };
    }
    matchingLocale = locale;
    const utterance = new virtualCore.Utterance(alexa.context().interactionModel(), text);
    const request = alexa.request();
    if (utterance.matched()) {
      request.intent(utterance.intent()).slots(utterance.toJSON());
    } else {
      // What Alexa does with an utterance no sample covers, when the model has a fallback.
      request.intent("AMAZON.FallbackIntent");
    }
    return { response: await request.send(), how: utterance.matched() ? "utterance" : "no match" };
  }

  async runConversation(conversation) {
    const state = {
      clock: T0_MS, lastRequest: null, reminders: "reminders" in conversation,
      granted: conversation.reminders === "granted", answer: null, askToken: null,
      // Each conversation is its own Alexa user: its reminders are its own.
      token: `${REMINDERS_TOKEN}-${++this.userCount}`,
    };
    const locale = conversation.locale;
    const device = conversation.device || null;
    if (device && !SETTINGS_API) {
      return { name: conversation.name, file: conversation.file, locale, lines: [],
        failures: ["a conversation with a device needs E2E_SETTINGS_API (test_e2e.py serves it)"] };
    }
    const alexa = this.newAlexa(state, locale, device);
    if (state.reminders && !REMINDERS_URL) {
      const why = "needs the Reminders API stand-in (E2E_REMINDERS_URL; test_e2e.py starts it)";
      return { name: conversation.name, file: conversation.file, locale, failures: [why],
        lines: [`    ${why}`] };
    }
    if (state.reminders) {
      await fetch(`${REMINDERS_URL}/_reset?token=${state.token}`, { method: "POST" });
    }
    const lines = [];
    const failures = [];
    for (const [index, turn] of conversation.turns.entries()) {
      const label = `turn ${index + 1} (${turn.say !== undefined ? JSON.stringify(turn.say)
        : turn.launch ? "launch" : turn.end ? `end:${turn.end}`
        : turn.permission ? `permission ${turn.permission}` : `intend ${turn.intend.name}`})`;
      if (turn.new_session) alexa.context().endSession();
      state.clock += 1000 * (turn.advance_seconds !== undefined ? turn.advance_seconds
        : DEFAULT_TURN_SECONDS);
      state.lastRequest = null;
      let result;
      try {
        result = await this.send(alexa, state, turn, locale);
      } catch (error) {
        const message = `request failed: ${error && error.message ? error.message : error}`;
        failures.push(`${label}: ${message}`);
        lines.push(`    ${label}`, `      FAIL ${message}`);
        break;
      }
      this.turnCount++;
      const problems = await this.check(turn, result, state.lastRequest, locale, device);
      const asked = ((result.response.response || {}).directives || [])
        .find((d) => d.type === "Connections.SendRequest");
      if (asked) state.askToken = asked.token;
      if (state.reminders) problems.push(...(await this.checkReminders(turn, state.token)));
      const request = state.lastRequest ? state.lastRequest.request : {};
      const heard = request.intent
        ? `${request.intent.name} ${JSON.stringify(resolvedSlots(request.intent))}`
        : request.type;
      const speech = plain(((result.response.response || {}).outputSpeech || {}).ssml);
      if (this.args.verbose || problems.length) {
        lines.push(`    ${label} -> ${heard}${result.how === "no match" ? " (no sample matched)" : ""}`);
        lines.push(`      says: ${speech || "(nothing)"}`);
        const cramp = flatState((result.response.sessionAttributes || {}).cramp);
        lines.push(`      state: ${JSON.stringify(Object.fromEntries(
          STATE_KEYS.map((k) => [k, cramp[k]])))} ended=${Boolean(
          (result.response.response || {}).shouldEndSession)}`);
      }
      for (const p of problems) {
        failures.push(`${label}: ${p}`);
        lines.push(`      FAIL ${p}`);
      }
    }
    return { name: conversation.name, file: conversation.file, locale, failures, lines };
  }

  async check(turn, result, requestJSON, locale, device = null) {
    const problems = [];
    const { protocols, phrases: ownPhrases, numbers: ownNumbers } = contentFor(locale);
    // A device in another country: that country's sentences and numbers, in the locale's words.
    const there = device ? contentFor(locale).countries[device.country] : null;
    const phrases = there ? { ...ownPhrases, ...there.phrases } : ownPhrases;
    const numbers = there ? there.numbers : ownNumbers;
    const text = (ref) => resolveText(ref, locale);
    const raw = result.response;
    const body = raw.response || {};
    const request = requestJSON ? requestJSON.request : {};
    const cramp = flatState((raw.sessionAttributes || {}).cramp);
    const ssml = (body.outputSpeech || {}).ssml;
    const repromptSsml = ((body.reprompt || {}).outputSpeech || {}).ssml;
    const speech = norm(plain(ssml));
    const reprompt = norm(plain(repromptSsml));

    // SSML: every string the skill would have Alexa speak.
    for (const [what, text] of [["speech", ssml], ["reprompt", repromptSsml]]) {
      if (text === undefined) continue;
      for (const issue of await checkSsml(text)) {
        const entry = `${what} SSML: ${issue}`;
        problems.push(entry);
        ssmlStats.issues.push({ ssml: text, issue });
      }
    }
    if (body.outputSpeech && body.outputSpeech.type !== "SSML") {
      problems.push(`outputSpeech type is ${body.outputSpeech.type}, not SSML`);
    }

    // What was sent.
    if (requestJSON && request.locale !== locale) {
      problems.push(`request locale: expected ${locale}, sent ${request.locale}`);
    }
    const sentIntent = request.type === "IntentRequest" ? request.intent.name : request.type;
    if ("intent" in turn && turn.intent !== sentIntent) {
      problems.push(`intent: expected ${turn.intent}, resolved to ${sentIntent}` +
        (result.how === "no match" ? " (no sample in the model matched the utterance)" : ""));
    }
    if ("slots" in turn) {
      const got = resolvedSlots(request.intent);
      for (const [name, want] of Object.entries(turn.slots)) {
        const have = name in got ? got[name] : null;
        if (have !== want) problems.push(`slot ${name}: expected ${want}, got ${have}`);
      }
    }

    // Invariants for every spoken response.
    const silent = request.type === "SessionEndedRequest";
    if (turn.silent || silent) {
      if (ssml && plain(ssml)) problems.push(`expected silence, heard: ${plain(ssml)}`);
    } else {
      if (!speech) problems.push("the response says nothing");
      if (!body.shouldEndSession && !reprompt) {
        problems.push("the session stays open without a reprompt");
      }
      if (!turn.allow_error && speech.includes(norm(phrases[ERROR_PHRASE_KEY]))) {
        problems.push("the skill answered with its calm error fallback (a crash behind it)");
      }
      // An emergency red flag opens with the call and this locale's emergency number ("Call
      // 9 1 1 now."), the reason after it; no response ever names another locale's number.
      for (const flag of Object.values(protocols.red_flags)) {
        if (flag.level !== "emergency") continue;
        const script = norm(flag.script);
        let call = norm(phrases[flag.call || "call_emergency"]);
        if (there && ownNumbers.emergency && numbers.emergency) {
          // A device in another country: the locale's words, that country's number.
          call = call.replace(ownNumbers.emergency.spoken.toLowerCase(),
            numbers.emergency.spoken.toLowerCase());
        }
        const at = speech.indexOf(script);
        if (at >= 0 && !(speech.includes(call) && speech.indexOf(call) < at)) {
          problems.push(`an emergency script without the ${locale} emergency number first ` +
            `("${phrases[flag.call || "call_emergency"]}")`);
        }
      }
      const own = new Set(Object.values(numbers).map((n) => n.spoken.toLowerCase()));
      for (const form of ALL_NUMBER_FORMS) {
        if (!own.has(form) && speech.includes(form)) {
          problems.push(`names another locale's number "${form}" (${locale} has none such)`);
        }
      }
    }

    // The turn's expectations.
    for (const key of STATE_KEYS) {
      if (key in turn && cramp[key] !== turn[key]) {
        problems.push(`${key}: expected ${JSON.stringify(turn[key])}, got ${JSON.stringify(cramp[key])}`);
      }
    }
    if ("ended" in turn && Boolean(body.shouldEndSession) !== turn.ended) {
      problems.push(`ended: expected ${turn.ended}, got ${Boolean(body.shouldEndSession)}`);
    }
    if ("starts_with" in turn && !speech.startsWith(norm(text(turn.starts_with)))) {
      problems.push(`should start with "${text(turn.starts_with)}"`);
    }
    for (const ref of turn.says || []) {
      if (!speech.includes(norm(text(ref)))) problems.push(`should say "${text(ref)}"`);
    }
    for (const ref of turn.not_says || []) {
      if (speech.includes(norm(text(ref)))) problems.push(`should not say "${text(ref)}"`);
    }
    for (const ref of turn.reprompt_says || []) {
      if (!reprompt.includes(norm(text(ref)))) {
        problems.push(`reprompt should say "${text(ref)}" (reprompt: "${reprompt}")`);
      }
    }
    for (const raw of turn.ssml_has || []) {
      if (!(ssml || "").includes(raw)) problems.push(`the SSML should contain ${raw}`);
    }
    if ("says_red_flag" in turn) {
      const flag = protocols.red_flags[turn.says_red_flag];
      if (!speech.includes(norm(flag.script))) {
        problems.push(`should say the ${turn.says_red_flag} script "${flag.script}"`);
      }
    }
    if ("directive" in turn) {
      const types = (body.directives || []).map((d) => d.type);
      if (turn.directive === null ? types.length : !types.includes(turn.directive)) {
        problems.push(`directive: expected ${turn.directive}, got ${JSON.stringify(types)}`);
      }
    }
    return problems;
  }

  /* What the Reminders API stand-in holds after the turn: the reminder as created. */
  async checkReminders(turn, token) {
    if (!("reminder_created" in turn) && !("reminders_left" in turn)) return [];
    const problems = [];
    const state = await (await fetch(`${REMINDERS_URL}/_state?token=${token}`)).json();
    if ("reminders_left" in turn && state.reminders.length !== turn.reminders_left) {
      problems.push(`reminders left: expected ${turn.reminders_left}, ` +
        `got ${state.reminders.length}`);
    }
    if ("reminder_created" in turn) {
      const want = turn.reminder_created;
      const last = state.created[state.created.length - 1];
      const rule = last && last.trigger.recurrence.recurrenceRules[0];
      if (!last || rule !== want.rule) {
        problems.push(`reminder: expected rule ${want.rule}, got ${rule}`);
      } else {
        if (last.alertInfo.spokenInfo.content[0].locale !== want.locale) {
          problems.push(`reminder locale: ${last.alertInfo.spokenInfo.content[0].locale}`);
        }
        if (state.problems.length) problems.push(`reminder schema: ${state.problems}`);
      }
    }
    return problems;
  }
}

// ------------------------------------------------------------------------------------ main

/* Who is speaking, as the skill's adapter reads it: the helper slot, else the muscle's words. */
function effectiveHelper(reading) {
  const helper = reading.slots.helper && reading.slots.helper.id;
  if (helper) return helper;
  const muscle = reading.slots.muscle;
  if (!muscle) return null;
  // The content's speaker words, the partner's first ("my wife's calf" is the partner's).
  const { phrases } = contentFor(DEFAULT_LOCALE);
  const heard = words(muscle.value);
  const said = (key) => phrases[key].split(" ").some((w) => heard.includes(w));
  if (said("speaker_partner_words")) return "PARTNER";
  if (said("speaker_alone_words")) return "ALONE";
  return null;
}

// Slots compared between the two readings (side is accepted but never used by the steps).
const COMPARED_SLOTS = ["muscle", "symptom", "part", "volume"];

function disagreement(stock, typed) {
  if (stock.intent !== typed.intent) return `stock ${stock.intent}, typed ${typed.intent}`;
  const differences = [];
  for (const name of COMPARED_SLOTS) {
    const a = stock.slots[name] ? stock.slots[name].id : null;
    const b = typed.slots[name] ? typed.slots[name].id : null;
    if (a !== b) differences.push(`${name}: stock ${a}, typed ${b}`);
  }
  if (effectiveHelper(stock) !== effectiveHelper(typed)) {
    differences.push(`helper: stock ${effectiveHelper(stock)}, typed ${effectiveHelper(typed)}`);
  }
  return differences.join("; ");
}

function stockCheck(args, conversations) {
  // The en-US scripts: every locale's model is generated from the same base and grammar.
  const model = modelOf(args.model || modelPath(DEFAULT_LOCALE));
  conversations = conversations.filter((c) => (c.locale || DEFAULT_LOCALE) === DEFAULT_LOCALE);
  const gapsFile = JSON.parse(fs.readFileSync(args.gaps, "utf8"));
  const listed = new Map(Object.entries(gapsFile.utterances || {}));
  const failures = [];
  const seen = new Set();
  let agree = 0;
  let gaps = 0;
  for (const conversation of conversations) {
    for (const turn of conversation.turns) {
      if (turn.say === undefined) continue;
      const [, text] = Runner.invocation(turn.say);
      if (!text || /^(?:alexa[\s,]+)?exit$/i.test(text)) continue;
      if (seen.has(text)) continue;
      seen.add(text);
      const { stock, typed } = readBoth(model, text);
      const differs = disagreement(stock, typed);
      const reason = listed.get(text);
      if (!differs) {
        agree++;
        if (reason !== undefined) {
          failures.push(`"${text}" is listed in ${path.basename(args.gaps)} but stock virtual-core ` +
            "now reads it the same: remove it from the list");
        }
      } else if (reason === undefined) {
        failures.push(`"${text}" (${conversation.file}): stock virtual-core reads it differently ` +
          `(${differs}); change the model so both agree, or list it with the reason`);
      } else if (typeof reason !== "string" || reason.trim().length < 10) {
        failures.push(`"${text}": give the reason it is listed (a sentence)`);
      } else {
        gaps++;
      }
      if (args.verbose) console.log(`${differs ? (reason ? "gap " : "FAIL") : "ok  "} ${text} -> ` +
        `${typed.intent} ${JSON.stringify(typed.slots)}${differs ? ` (${differs})` : ""}`);
    }
  }
  for (const text of listed.keys()) {
    if (!seen.has(text)) failures.push(`"${text}" is listed but no conversation script says it`);
  }
  for (const f of failures) console.log(`FAIL ${f}`);
  console.log(`stock check: ${seen.size} distinct utterances, ${agree} read the same by stock ` +
    `virtual-core, ${gaps} listed with a reason, ${failures.length} failures`);
  return failures.length === 0;
}

async function resolveStdin(args) {
  const chunks = [];
  for await (const chunk of process.stdin) chunks.push(chunk);
  const utterances = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  const model = modelOf(args.model || modelPath(DEFAULT_LOCALE));
  const out = utterances.map((say) => ({ say, ...readBoth(model, say) }));
  process.stdout.write(JSON.stringify(out) + "\n");
}

async function main() {
  const started = Date.now();
  const args = parseArgs(process.argv.slice(2));
  installTypedSlotMatcher();
  matcherMode = args.matcher;
  if (args.resolve) {
    await resolveStdin(args);
    return;
  }
  const { conversations, errors } = loadFiles(args.files);
  if (args.stockCheck) {
    if (errors.length) {
      for (const e of errors) console.error(`  ${e}`);
      process.exit(1);
    }
    process.exit(stockCheck(args, conversations) ? 0 : 1);
  }
  if (errors.length) {
    console.error("e2e: the conversation scripts are invalid:");
    for (const e of errors) console.error(`  ${e}`);
    console.log(`0 passed, ${conversations.length || 1} failed`);
    process.exit(1);
  }
  const selected = conversations.filter((c) => !args.only || c.name.includes(args.only));
  if (selected.length === 0) {
    console.error("e2e: no conversations to run");
    console.log("0 passed, 1 failed");
    process.exit(1);
  }
  const runner = new Runner(args);
  const results = new Array(selected.length);
  let next = 0;
  async function worker() {
    while (next < selected.length) {
      const i = next++;
      try {
        results[i] = await runner.runConversation(selected[i]);
      } catch (error) {
        results[i] = { name: selected[i].name, file: selected[i].file,
          failures: [`runner error: ${error && error.stack ? error.stack : error}`], lines: [] };
      }
    }
  }
  await Promise.all(Array.from({ length: Math.min(args.jobs, selected.length) }, worker));

  let passed = 0;
  for (const r of results) {
    const ok = r.failures.length === 0;
    if (ok) passed++;
    console.log(`${ok ? "ok  " : "FAIL"} ${r.file}: ${r.name}${r.locale && r.locale !== DEFAULT_LOCALE ? ` [${r.locale}]` : ""}`);
    if (!ok || args.verbose) for (const line of r.lines) console.log(line);
    if (!ok && r.lines.length === 0) for (const f of r.failures) console.log(`      FAIL ${f}`);
  }
  const failed = results.length - passed;
  const distinct = new Map(ssmlStats.issues.map((i) => [`${i.issue} in ${i.ssml}`, i]));
  if (distinct.size) {
    console.log(`\nSSML issues reported by ssml-check-core (${distinct.size} distinct):`);
    for (const key of distinct.keys()) console.log(`  ${key}`);
  }
  console.log(`\n${results.length} conversations, ${runner.turnCount} turns, ` +
    `${ssmlStats.checked} SSML strings checked (${ssmlCache.size} distinct), ` +
    `${ssmlStats.issues.length} SSML issues, ${((Date.now() - started) / 1000).toFixed(1)} s`);
  console.log(`${passed} passed, ${failed} failed`);
  process.exit(failed === 0 && ssmlStats.issues.length === 0 ? 0 : 1);
}

main().catch((error) => {
  console.error(error && error.stack ? error.stack : error);
  console.log("0 passed, 1 failed");
  process.exit(1);
});

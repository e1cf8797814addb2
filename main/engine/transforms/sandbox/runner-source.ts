// The JavaScript evaluated inside each QuickJS context before the user's module: the batch loop
// with per-record error isolation, the transform context (keyed state with per-record commit,
// as-of lookups through one host function, log lines, controlled time), and determinism (Date and
// Math.random answer from the record being processed). It runs as plain global code and returns
// its control object as the completion value, so nothing of it is reachable from globalThis.
//
// Everything the user can reach lives inside QuickJS: the only host function is the lookup, which
// takes and returns strings. Tampering with built-ins can only spoil the user's own outputs: the
// host accepts nothing but one JSON string per batch and validates it.

export const RUNNER_FILENAME = 'eddy:runner';

export const RUNNER_SOURCE = String.raw`(function () {
  'use strict';
  var G = globalThis;
  var JSONparse = JSON.parse, JSONstringify = JSON.stringify;
  var isArray = Array.isArray;
  var RealDate = Date, RealNow = Date.now, ReflectConstruct = Reflect.construct, PromiseResolve = Promise.resolve.bind(Promise);
  var PromiseThen = Promise.prototype.then;
  var StringOf = String, MathImul = Math.imul;
  var DELETED = {};

  // Capabilities a transform never needs; QuickJS has no Node, DOM or WebAssembly to begin with.
  delete G.SharedArrayBuffer;
  delete G.Atomics;
  delete G.WebAssembly;
  // Deterministic by construction: nothing may depend on when the garbage collector runs.
  delete G.WeakRef;
  delete G.FinalizationRegistry;

  // ---- the record being processed --------------------------------------------------------------
  var recordNow = 0, recordEventTime = 0, recordPosition = '';
  var randomState = 0, randomSeeded = false;
  var pendingWrites = new Map();  // reused for every record: state writes (key -> json | DELETED)
  var pending = null;            // pendingWrites while a record runs, else null
  var logs = null;               // log lines of the current record
  var inRecord = false;

  // Math.random: a PRNG seeded from the record's position, so the same record gives the same numbers.
  function seedRandom() {
    var h = 2166136261;
    for (var i = 0; i < recordPosition.length; i++) { h ^= recordPosition.charCodeAt(i); h = MathImul(h, 16777619); }
    randomState = h >>> 0;
    randomSeeded = true;
  }
  function random() {
    if (!randomSeeded) seedRandom();
    randomState = (randomState + 0x6d2b79f5) | 0;
    var t = randomState;
    t = MathImul(t ^ (t >>> 15), t | 1);
    t ^= t + MathImul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  Object.defineProperty(Math, 'random', { value: random, writable: true, configurable: true });

  // Date: now is the record's processing time; explicit dates are untouched.
  function EddyDate() {
    var args = arguments.length === 0 ? [recordNow] : Array.prototype.slice.call(arguments);
    if (new.target === undefined) return new RealDate(recordNow).toString();
    return ReflectConstruct(RealDate, args, new.target);
  }
  EddyDate.prototype = RealDate.prototype;
  EddyDate.now = function now() { return recordNow; };
  EddyDate.parse = RealDate.parse;
  EddyDate.UTC = RealDate.UTC;
  Object.defineProperty(RealDate.prototype, 'constructor', { value: EddyDate, writable: true, configurable: true });
  G.Date = EddyDate;

  // ---- log lines --------------------------------------------------------------------------------
  var MAX_LOG_LINES = 100, MAX_LOG_CHARS = 2000;
  function describe(value) {
    if (typeof value === 'string') return value;
    if (value === undefined) return 'undefined';
    if (typeof value === 'object' && value !== null && value instanceof Error) return StringOf(value.name) + ': ' + StringOf(value.message);
    try { var json = JSONstringify(value); return json === undefined ? StringOf(value) : json; } catch (e) { return StringOf(value); }
  }
  function logAt(level) {
    return function () {
      if (!inRecord) return;
      if (logs === null) logs = [];
      if (logs.length >= MAX_LOG_LINES) return;
      var parts = [];
      for (var i = 0; i < arguments.length; i++) parts.push(describe(arguments[i]));
      var message = parts.join(' ');
      if (message.length > MAX_LOG_CHARS) message = message.slice(0, MAX_LOG_CHARS) + '…';
      logs.push({ level: level, message: message });
    };
  }
  var log = Object.freeze({ debug: logAt('debug'), info: logAt('info'), warn: logAt('warn'), error: logAt('error') });
  G.console = Object.freeze({ log: log.info, debug: log.debug, info: log.info, warn: log.warn, error: log.error });

  // ---- keyed state --------------------------------------------------------------------------------
  var committed = new Map();
  var MAX_STATE_VALUE = 1048576;
  function stateKey(key) {
    if (typeof key === 'number' && isFinite(key)) return StringOf(key);
    if (typeof key !== 'string') throw new TypeError('state keys are strings (got ' + typeof key + ')');
    if (key.length > 1024) throw new RangeError('state keys are at most 1024 characters');
    return key;
  }
  function needRecord(what) {
    if (!inRecord) throw new Error(what + ' is only available while an event is processed');
  }
  var state = Object.freeze({
    get: function get(key) {
      needRecord('state.get');
      key = stateKey(key);
      var json = pending.has(key) ? pending.get(key) : committed.get(key);
      return json === undefined || json === DELETED ? undefined : JSONparse(json);
    },
    put: function put(key, value) {
      needRecord('state.put');
      key = stateKey(key);
      if (value === undefined) throw new TypeError('state.put needs a JSON value; use state.delete to remove a key');
      var json = JSONstringify(value);
      if (json === undefined) throw new TypeError('state values must be JSON');
      if (json.length > MAX_STATE_VALUE) throw new RangeError('a state value is at most 1 MB of JSON');
      pending.set(key, json);
    },
    delete: function (key) {
      needRecord('state.delete');
      pending.set(stateKey(key), DELETED);
    },
  });

  // ---- lookups -------------------------------------------------------------------------------------
  var lookupHost = null;
  function lookup(table, key) {
    needRecord('lookup');
    if (typeof table !== 'string' || table.length === 0) throw new TypeError('lookup(table, key): table is a stream name');
    var keyJson = JSONstringify(key === undefined ? null : key);
    if (lookupHost === null) return null;
    var answer = lookupHost(table, keyJson, recordEventTime);
    if (typeof answer !== 'string') return null;
    if (answer.charCodeAt(0) === 33) throw new Error(answer.slice(1)); // "!message": the lookup failed
    return JSONparse(answer);
  }

  var context = Object.freeze({ state: state, lookup: lookup, log: log, now: function now() { return recordNow; } });

  // ---- the batch loop ----------------------------------------------------------------------------------
  var transform = null;
  var batch = null, cursor = 0, limit = 0, parts = [], outputChars = 0;
  var maxRecordChars = 4194304, maxBatchChars = 33554432;
  var awaiting = null;            // { status, value } of the current record's promise
  var cell = null;                // progress cell read by the host: [marker, marker, cursor, serial, start ms]
  var stamp = false;              // write each record's start time (a host that cannot interrupt per record)
  var serial = 0;

  function lift(event) {
    var value = event.value;
    if (value !== null && typeof value === 'object' && !isArray(value) && ('after' in value || 'before' in value) && 'op' in value) {
      event.before = value.before === undefined ? null : value.before;
      event.after = value.after === undefined ? null : value.after;
      event.source = value.source;
    }
    return event;
  }

  function begin(record) {
    var event = record.e;
    recordNow = record.n;
    recordEventTime = event.eventTime;
    recordPosition = StringOf(event.position);
    randomSeeded = false;
    pendingWrites.clear();
    pending = pendingWrites;
    logs = null;
    inRecord = true;
    if (cell !== null) { cell[2] = cursor; cell[3] = ++serial; if (stamp) cell[4] = RealNow(); }
    return lift(event);
  }

  function end() {
    inRecord = false;
    pending = null;
    if (cell !== null) cell[3] = ++serial;
  }

  function push(text) {
    outputChars += text.length;
    parts.push(text);
  }

  function succeed(result) {
    var out = null;
    if (result !== undefined && result !== null) {
      out = JSONstringify(result);
      if (out === undefined) throw new TypeError('the transform returned ' + typeof result + ', not events');
      if (out.length > maxRecordChars) throw new RangeError('the outputs of one event exceed ' + (maxRecordChars >> 20) + ' MB of JSON');
      if (outputChars + out.length > maxBatchChars) throw new RangeError('the outputs of this batch exceed ' + (maxBatchChars >> 20) + ' MB of JSON');
    }
    var changes = null;
    if (pending.size > 0) pending.forEach(function (json, key) {
      if (json === DELETED) committed.delete(key); else committed.set(key, json);
      if (changes === null) changes = [];
      changes.push(json === DELETED ? '[' + JSONstringify(key) + ']' : '[' + JSONstringify(key) + ',' + json + ']');
    });
    if (out === null && logs === null && changes === null) return;
    push('{"i":' + cursor + (out !== null ? ',"o":' + out : '') + (logs !== null ? ',"l":' + JSONstringify(logs) : '') + (changes !== null ? ',"s":[' + changes.join(',') + ']' : '') + '}');
  }

  function errorInfo(error) {
    var info = { name: 'Error', message: '', stack: '' };
    try {
      if (error !== null && typeof error === 'object') {
        info.name = StringOf(error.name === undefined ? 'Error' : error.name);
        info.message = StringOf(error.message === undefined ? '' : error.message);
        info.stack = typeof error.stack === 'string' ? error.stack : '';
      } else {
        info.name = 'Thrown';
        info.message = describe(error);
      }
    } catch (inner) {
      info.name = 'Error';
      info.message = 'the transform threw a value that cannot be described';
    }
    if (info.message.length > 4000) info.message = info.message.slice(0, 4000) + '…';
    if (info.stack.length > 8000) info.stack = info.stack.slice(0, 8000);
    return info;
  }

  function fail(error, kind) {
    var info = errorInfo(error);
    push('{"i":' + cursor + ',"e":' + JSONstringify({ kind: kind || 'error', name: info.name, message: info.message, stack: info.stack }) + (logs !== null ? ',"l":' + JSONstringify(logs) : '') + '}');
  }

  function settleWith(status, value) {
    try {
      if (status === 'fulfilled') succeed(value);
      else if (status === 'rejected') fail(value);
      else fail(new Error('the promise returned by the transform never settled'), 'timeout');
    } catch (error) {
      fail(error);
    }
    end();
    cursor++;
  }

  return {
    /** The module's default export. */
    init: function (fn) {
      if (typeof fn !== 'function') throw new TypeError('a transform module must export default a function (event, ctx) => events');
      transform = fn;
    },
    /**
     * Limits, initial state, the progress cell's marker and the lookup function; a host that shares
     * memory with the sandbox passes the cell's buffer instead of markers.
     */
    setup: function (configJson, lookupFn, cellBuffer) {
      var config = JSONparse(configJson);
      committed = new Map();
      var entries = config.state || [];
      for (var i = 0; i < entries.length; i++) committed.set(entries[i][0], entries[i][1]);
      if (config.maxRecordChars) maxRecordChars = config.maxRecordChars;
      if (config.maxBatchChars) maxBatchChars = config.maxBatchChars;
      if (config.magic) { cell = new Float64Array(5); cell[0] = config.magic[0]; cell[1] = config.magic[1]; }
      else if (cellBuffer !== undefined && cellBuffer !== null) { cell = new Float64Array(cellBuffer, 0, 5); stamp = true; }
      lookupHost = typeof lookupFn === 'function' ? lookupFn : null;
    },
    /** A new batch, run from record "from" up to (not including) "until" when given. */
    begin: function (batchJson, from, until) {
      batch = JSONparse(batchJson);
      cursor = from || 0;
      limit = typeof until === 'number' && until < batch.length ? until : batch.length;
      parts = [];
      outputChars = 0;
      awaiting = null;
      return batch.length;
    },
    /**
     * Runs records from the cursor: 0 when the batch is done, 1 when a record awaits a promise, 2
     * after "max" records when a maximum is given (a host bounding each call's duration).
     */
    step: function (max) {
      var stop = typeof max === 'number' && max > 0 ? cursor + max : limit;
      while (cursor < limit) {
        if (cursor >= stop) return 2;
        var event = begin(batch[cursor]);
        try {
          var result = transform(event, context);
          if (result !== null && typeof result === 'object' && typeof result.then === 'function') {
            var box = { status: 'pending', value: undefined };
            awaiting = box;
            PromiseThen.call(PromiseResolve(result), function (value) { box.status = 'fulfilled'; box.value = value; }, function (error) { box.status = 'rejected'; box.value = error; });
            return 1;
          }
          succeed(result);
        } catch (error) {
          fail(error);
        }
        end();
        cursor++;
      }
      return 0;
    },
    /** After the host ran the pending jobs: record the awaited result and move on. */
    settle: function () {
      var box = awaiting;
      awaiting = null;
      settleWith(box === null ? 'pending' : box.status, box === null ? undefined : box.value);
    },
    /** The host stopped the current record (time or memory): record why and move on. */
    abort: function (kind, message) {
      awaiting = null;
      var error = new Error(message);
      error.name = kind === 'timeout' ? 'TimeoutError' : 'RangeError';
      error.stack = '';
      fail(error, kind);
      end();
      cursor++;
    },
    cursor: function () { return cursor; },
    /** The batch's results as one JSON array of per-record entries. */
    take: function () {
      var text = '[' + parts.join(',') + ']';
      parts = [];
      outputChars = 0;
      return text;
    },
    /** The committed state as JSON entries, to rebuild a context. */
    state: function () {
      var entries = [];
      committed.forEach(function (json, key) { entries.push('[' + JSONstringify(key) + ',' + JSONstringify(json) + ']'); });
      return '[' + entries.join(',') + ']';
    },
  };
})()`;

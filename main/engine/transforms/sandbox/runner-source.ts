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
  var StringOf = String, MathImul = Math.imul, IsFinite = isFinite;
  // The script shares this realm: everything the runner relies on is captured now, before the
  // script runs, and called through Reflect.apply, so replacing a global or a prototype method
  // changes only what the script itself sees. Records, state and results live in null-prototype
  // objects and strings, never in Maps or arrays whose methods the script could hook.
  var apply = Reflect.apply, ObjectCreate = Object.create, F64 = Float64Array;
  var StringSlice = String.prototype.slice, CharCodeAt = String.prototype.charCodeAt, ArraySlice = Array.prototype.slice;
  var RealError = Error, RealTypeError = TypeError, RealRangeError = RangeError;
  function cut(text, from, to) { return apply(StringSlice, text, to === undefined ? [from] : [from, to]); }
  var DELETED = ObjectCreate(null);

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
  var pending = null;            // state writes of the record being processed (key -> json | DELETED), else null
  var pendingCount = 0;
  var logs = null;               // the record's log lines as JSON text (comma-separated), or null
  var logCount = 0;
  var inRecord = false;

  // Math.random: a PRNG seeded from the record's position, so the same record gives the same numbers.
  function seedRandom() {
    var h = 2166136261;
    for (var i = 0; i < recordPosition.length; i++) { h ^= apply(CharCodeAt, recordPosition, [i]); h = MathImul(h, 16777619); }
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
    var args = arguments.length === 0 ? [recordNow] : apply(ArraySlice, arguments, []);
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
      if (logCount >= MAX_LOG_LINES) return;
      var message = '';
      for (var i = 0; i < arguments.length; i++) message += (i === 0 ? '' : ' ') + describe(arguments[i]);
      if (message.length > MAX_LOG_CHARS) message = cut(message, 0, MAX_LOG_CHARS) + '…';
      var line = '{"level":' + JSONstringify(level) + ',"message":' + JSONstringify(message) + '}';
      logs = logs === null ? line : logs + ',' + line;
      logCount++;
    };
  }
  var log = Object.freeze({ debug: logAt('debug'), info: logAt('info'), warn: logAt('warn'), error: logAt('error') });
  G.console = Object.freeze({ log: log.info, debug: log.debug, info: log.info, warn: log.warn, error: log.error });

  // ---- keyed state --------------------------------------------------------------------------------
  var committed = ObjectCreate(null);
  var MAX_STATE_VALUE = 1048576;
  function stateKey(key) {
    if (typeof key === 'number' && IsFinite(key)) return StringOf(key);
    if (typeof key !== 'string') throw new RealTypeError('state keys are strings (got ' + typeof key + ')');
    if (key.length > 1024) throw new RealRangeError('state keys are at most 1024 characters');
    return key;
  }
  function needRecord(what) {
    if (!inRecord) throw new RealError(what + ' is only available while an event is processed');
  }
  var state = Object.freeze({
    get: function get(key) {
      needRecord('state.get');
      key = stateKey(key);
      var json = key in pending ? pending[key] : committed[key];
      return json === undefined || json === DELETED ? undefined : JSONparse(json);
    },
    put: function put(key, value) {
      needRecord('state.put');
      key = stateKey(key);
      if (value === undefined) throw new RealTypeError('state.put needs a JSON value; use state.delete to remove a key');
      var json = JSONstringify(value);
      if (typeof json !== 'string') throw new RealTypeError('state values must be JSON');
      if (json.length > MAX_STATE_VALUE) throw new RealRangeError('a state value is at most 1 MB of JSON');
      write(key, json);
    },
    delete: function (key) {
      needRecord('state.delete');
      write(stateKey(key), DELETED);
    },
  });

  function write(key, json) {
    if (!(key in pending)) pendingCount++;
    pending[key] = json;
  }

  // ---- lookups -------------------------------------------------------------------------------------
  var lookupHost = null;
  function lookup(table, key) {
    needRecord('lookup');
    if (typeof table !== 'string' || table.length === 0) throw new RealTypeError('lookup(table, key): table is a stream name');
    var keyJson = JSONstringify(key === undefined ? null : key);
    if (lookupHost === null) return null;
    var answer = lookupHost(table, keyJson, recordEventTime);
    if (typeof answer !== 'string') return null;
    if (apply(CharCodeAt, answer, [0]) === 33) throw new RealError(cut(answer, 1)); // "!message": the lookup failed
    return JSONparse(answer);
  }

  var context = Object.freeze({ state: state, lookup: lookup, log: log, now: function now() { return recordNow; } });

  // ---- the batch loop ----------------------------------------------------------------------------------
  var transform = null;
  var batch = null, cursor = 0, limit = 0, results = '', outputChars = 0;
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
    pending = ObjectCreate(null);
    pendingCount = 0;
    logs = null;
    logCount = 0;
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
    results = results === '' ? text : results + ',' + text;
  }

  function succeed(result) {
    var out = null;
    if (result !== undefined && result !== null) {
      out = JSONstringify(result);
      if (typeof out !== 'string') throw new RealTypeError('the transform returned ' + typeof result + ', not events');
      if (out.length > maxRecordChars) throw new RealRangeError('the outputs of one event exceed ' + (maxRecordChars >> 20) + ' MB of JSON');
      if (outputChars + out.length > maxBatchChars) throw new RealRangeError('the outputs of this batch exceed ' + (maxBatchChars >> 20) + ' MB of JSON');
    }
    var changes = null;
    if (pendingCount > 0) {
      for (var key in pending) {
        var json = pending[key];
        if (json === DELETED) delete committed[key]; else committed[key] = json;
        var change = json === DELETED ? '[' + JSONstringify(key) + ']' : '[' + JSONstringify(key) + ',' + json + ']';
        changes = changes === null ? change : changes + ',' + change;
      }
    }
    if (out === null && logs === null && changes === null) return;
    push('{"i":' + cursor + (out !== null ? ',"o":' + out : '') + (logs !== null ? ',"l":[' + logs + ']' : '') + (changes !== null ? ',"s":[' + changes + ']' : '') + '}');
  }

  function errorInfo(error) {
    var info = ObjectCreate(null);
    info.name = 'Error';
    info.message = '';
    info.stack = '';
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
    if (info.message.length > 4000) info.message = cut(info.message, 0, 4000) + '…';
    if (info.stack.length > 8000) info.stack = cut(info.stack, 0, 8000);
    info.kind = 'error';
    return info;
  }

  function fail(error, kind) {
    var info = errorInfo(error);
    if (kind) info.kind = kind;
    push('{"i":' + cursor + ',"e":' + JSONstringify(info) + (logs !== null ? ',"l":[' + logs + ']' : '') + '}');
  }

  function settleWith(status, value) {
    try {
      if (status === 'fulfilled') succeed(value);
      else if (status === 'rejected') fail(value);
      else fail(new RealError('the promise returned by the transform never settled'), 'timeout');
    } catch (error) {
      fail(error);
    }
    end();
    cursor++;
  }

  return {
    /** The module's default export. */
    init: function (fn) {
      if (typeof fn !== 'function') throw new RealTypeError('a transform module must export default a function (event, ctx) => events');
      transform = fn;
    },
    /**
     * Limits, initial state, the progress cell's marker and the lookup function; a host that shares
     * memory with the sandbox passes the cell's buffer instead of markers. Hosts call it before
     * the script's module is evaluated.
     */
    setup: function (configJson, lookupFn, cellBuffer) {
      var config = JSONparse(configJson);
      committed = ObjectCreate(null);
      var entries = config.state || [];
      for (var i = 0; i < entries.length; i++) committed[entries[i][0]] = entries[i][1];
      if (config.maxRecordChars) maxRecordChars = config.maxRecordChars;
      if (config.maxBatchChars) maxBatchChars = config.maxBatchChars;
      if (config.magic) { cell = new F64(5); cell[0] = config.magic[0]; cell[1] = config.magic[1]; }
      else if (cellBuffer !== undefined && cellBuffer !== null) { cell = new F64(cellBuffer, 0, 5); stamp = true; }
      lookupHost = typeof lookupFn === 'function' ? lookupFn : null;
    },
    /** A new batch, run from record "from" up to (not including) "until" when given. */
    begin: function (batchJson, from, until) {
      batch = JSONparse(batchJson);
      cursor = from || 0;
      limit = typeof until === 'number' && until < batch.length ? until : batch.length;
      results = '';
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
            apply(PromiseThen, PromiseResolve(result), [function (value) { box.status = 'fulfilled'; box.value = value; }, function (error) { box.status = 'rejected'; box.value = error; }]);
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
      var error = ObjectCreate(null);
      error.name = kind === 'timeout' ? 'TimeoutError' : 'RangeError';
      error.message = StringOf(message);
      error.stack = '';
      fail(error, kind);
      end();
      cursor++;
    },
    cursor: function () { return cursor; },
    /** The batch's results as one JSON array of per-record entries. */
    take: function () {
      var text = '[' + results + ']';
      results = '';
      outputChars = 0;
      return text;
    },
    /** The committed state as JSON entries, to rebuild a context. */
    state: function () {
      var text = '';
      for (var key in committed) text += (text === '' ? '' : ',') + '[' + JSONstringify(key) + ',' + JSONstringify(committed[key]) + ']';
      return '[' + text + ']';
    },
  };
})()`;

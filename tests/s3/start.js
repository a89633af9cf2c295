#!/usr/bin/env node
'use strict';

// Starts a local S3-compatible server (@20minutes/s3rver) for the roomrec tests.
//
//   node --openssl-legacy-provider tests/s3/start.js \
//       [--dir DIR] [--bucket NAME ...] [--port N] [--verbose] [--exit-on-stdin-close]
//
// * binds 127.0.0.1; port 0 (the default) lets the OS choose a free port;
// * stores into DIR (created if missing, kept on exit) or into a fresh temp
//   directory that is removed on exit;
// * pre-creates the buckets (default: roomrec-test);
// * credentials are s3rver's built-in pair: access key S3RVER, secret S3RVER;
//   path-style addressing only (http://127.0.0.1:PORT/BUCKET/KEY);
// * when ready prints exactly one line "PORT <n>" to stdout, nothing else is
//   ever written to stdout (logs, with --verbose, go to stderr);
// * runs until SIGTERM/SIGINT/SIGHUP (clean shutdown, exit 0), or, with
//   --exit-on-stdin-close, until its stdin reaches EOF (so a parent that dies
//   and holds the write end of a pipe to our stdin does not leave us running);
// * errors go to stderr, exit status non-zero.
//
// --openssl-legacy-provider is required: s3rver encrypts ListObjectsV2
// continuation tokens with DES, which OpenSSL 3 only has in the legacy provider.

const crypto = require('crypto');
const fs = require('fs');
const os = require('os');
const path = require('path');

const USAGE =
  'usage: node --openssl-legacy-provider start.js [--dir DIR] [--bucket NAME ...] ' +
  '[--port N] [--verbose] [--exit-on-stdin-close]';

function fail(message, code = 1) {
  process.stderr.write(`s3rver start.js: ${message}\n`);
  process.exitCode = code;
  cleanup();
  process.exit(code);
}

// ---------------------------------------------------------------- arguments

function parseArgs(argv) {
  const opts = {
    dir: null,
    buckets: [],
    port: 0,
    verbose: false,
    exitOnStdinClose: false,
  };
  const takeValue = (i, name) => {
    if (i + 1 >= argv.length || argv[i + 1].startsWith('--')) {
      fail(`${name} needs a value\n${USAGE}`, 2);
    }
    return argv[i + 1];
  };
  for (let i = 0; i < argv.length; i++) {
    let arg = argv[i];
    let inlineValue = null;
    const eq = arg.indexOf('=');
    if (arg.startsWith('--') && eq !== -1) {
      inlineValue = arg.slice(eq + 1);
      arg = arg.slice(0, eq);
    }
    const value = () => {
      if (inlineValue !== null) return inlineValue;
      const v = takeValue(i, arg);
      i++;
      return v;
    };
    switch (arg) {
      case '--dir':
        opts.dir = value();
        break;
      case '--bucket':
        opts.buckets.push(value());
        break;
      case '--port': {
        const v = value();
        if (!/^\d+$/.test(v) || Number(v) > 65535) {
          fail(`invalid --port: ${JSON.stringify(v)}`, 2);
        }
        opts.port = Number(v);
        break;
      }
      case '--verbose':
        opts.verbose = true;
        break;
      case '--exit-on-stdin-close':
        opts.exitOnStdinClose = true;
        break;
      case '-h':
      case '--help':
        process.stdout.write(USAGE + '\n');
        process.exit(0);
        break;
      default:
        fail(`unknown argument: ${JSON.stringify(argv[i])}\n${USAGE}`, 2);
    }
  }
  if (opts.buckets.length === 0) opts.buckets = ['roomrec-test'];
  for (const b of opts.buckets) {
    // S3 bucket naming rules (the subset that matters for path-style access).
    if (
      !/^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/.test(b) ||
      b.includes('..') ||
      /^\d+\.\d+\.\d+\.\d+$/.test(b)
    ) {
      fail(`invalid bucket name: ${JSON.stringify(b)}`, 2);
    }
  }
  return opts;
}

// ------------------------------------------------------------------- state

let tempDir = null; // removed on exit when we created it
let server = null; // S3rver instance
let httpServer = null;
let shuttingDown = false;

function cleanup() {
  if (tempDir) {
    try {
      fs.rmSync(tempDir, { recursive: true, force: true });
    } catch (err) {
      process.stderr.write(
        `s3rver start.js: could not remove ${tempDir}: ${err.message}\n`,
      );
    }
    tempDir = null;
  }
}

function shutdown(reason, code = 0) {
  if (shuttingDown) return;
  shuttingDown = true;
  if (server && server.verbose) {
    process.stderr.write(`s3rver start.js: shutting down (${reason})\n`);
  }
  // Never hang on shutdown: force the exit after a grace period.
  const force = setTimeout(() => {
    cleanup();
    process.exit(code);
  }, 3000);
  force.unref();
  const finish = () => {
    cleanup();
    process.exit(code);
  };
  if (!httpServer) return finish();
  httpServer.close(() => finish());
  // Keep-alive connections (boto3, libcurl) would keep close() waiting.
  if (typeof httpServer.closeAllConnections === 'function') {
    httpServer.closeAllConnections();
  }
}

// -------------------------------------------------------------------- main

async function main() {
  const opts = parseArgs(process.argv.slice(2));

  // Fail early and clearly when the legacy provider is missing; otherwise
  // only ListObjectsV2 with truncation would fail, with a 500.
  try {
    crypto.createCipheriv('des', Buffer.alloc(8), Buffer.alloc(8));
  } catch (err) {
    fail(
      'DES is unavailable (' +
        (err.code || err.message) +
        '); run node with --openssl-legacy-provider',
    );
  }

  let S3rver;
  try {
    S3rver = require('@20minutes/s3rver');
  } catch (err) {
    fail(
      `cannot load @20minutes/s3rver (${err.message}); ` +
        `run "npm ci" in ${__dirname}`,
    );
  }

  let directory;
  if (opts.dir) {
    directory = path.resolve(opts.dir);
    fs.mkdirSync(directory, { recursive: true });
  } else {
    tempDir = fs.mkdtempSync(path.join(os.tmpdir(), 'roomrec-s3rver-'));
    directory = tempDir;
  }

  for (const sig of ['SIGTERM', 'SIGINT', 'SIGHUP']) {
    process.on(sig, () => shutdown(sig, 0));
  }

  server = new S3rver({
    address: '127.0.0.1',
    port: opts.port,
    directory,
    silent: !opts.verbose,
    // Always path-style, whatever Host header the client sends.
    vhostBuckets: false,
    resetOnClose: false,
    allowMismatchedSignatures: false,
    configureBuckets: opts.buckets.map((name) => ({ name, configs: [] })),
  });
  server.verbose = opts.verbose;
  // stdout carries only the PORT line: route every log level to stderr.
  for (const transport of server.logger.transports) {
    if ('stderrLevels' in transport) {
      transport.stderrLevels = Object.fromEntries(
        Object.keys(server.logger.levels).map((l) => [l, true]),
      );
    }
  }

  const address = await server.run();
  httpServer = server.httpServer;
  httpServer.on('error', (err) => {
    process.stderr.write(`s3rver start.js: server error: ${err.stack || err}\n`);
    shutdown('server error', 1);
  });

  if (opts.exitOnStdinClose) {
    process.stdin.on('end', () => shutdown('stdin closed', 0));
    process.stdin.on('close', () => shutdown('stdin closed', 0));
    process.stdin.on('error', () => shutdown('stdin error', 0));
    process.stdin.on('data', () => {}); // discard anything written to us
    process.stdin.resume();
  }

  await new Promise((resolve, reject) =>
    process.stdout.write(`PORT ${address.port}\n`, (err) =>
      err ? reject(err) : resolve(),
    ),
  );
}

process.on('uncaughtException', (err) => {
  // s3rver's listen() reports bind errors (EADDRINUSE, EACCES) this way.
  if (err && err.syscall === 'listen') fail(err.message);
  fail(`uncaught exception: ${err && err.stack ? err.stack : err}`);
});
process.on('unhandledRejection', (err) => {
  fail(`unhandled rejection: ${err && err.stack ? err.stack : err}`);
});
// Parent closed our stdout: nothing useful left to do.
process.stdout.on('error', (err) => {
  if (err.code === 'EPIPE') shutdown('stdout closed', 0);
});

main().catch((err) => {
  fail(err && err.syscall === 'listen' ? err.message : (err && err.stack) || String(err));
});

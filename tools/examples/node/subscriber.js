#!/usr/bin/env node
// A healthwire subscriber in Node.js: the pattern of stream_subscriber.cc.
//
// Reads a person's latest record of one type (GetLatest), then streams every
// later change (StreamUpdates from store_revision + 1), printing one line each.
// The service definition is loaded from the repository's .proto files at run
// time (@grpc/proto-loader); nothing is generated.
//
//   cd tools/examples/node && npm ci
//   node tools/examples/node/subscriber.js --store 127.0.0.1:50051 --user ID
//
// --proto-root is the import root of healthwire's protos (default: this
// repository's proto/ folder), so `import "healthwire/terra/terra.proto"`
// resolves; keepCase keeps the proto field names (user_id, store_revision).
"use strict";

const path = require("path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

// The largest message healthwire sends (proto/message_limits.h): records can
// be tens of MB, gRPC's default receive limit is 4 MiB.
const MAX_MESSAGE_BYTES = 256 * 1024 * 1024;

const USAGE =
  "usage: subscriber.js --user ID [--type sleep] [--store host:port] [--max-updates N] " +
  "[--proto-root DIR]";

function parseArgs(argv) {
  const args = {
    store: "127.0.0.1:50051",
    user: "",
    type: "sleep",
    maxUpdates: 0,
    protoRoot: path.join(__dirname, "..", "..", "..", "proto"),
  };
  const names = {
    "--store": "store",
    "--user": "user",
    "--type": "type",
    "--max-updates": "maxUpdates",
    "--proto-root": "protoRoot",
  };
  for (let i = 0; i < argv.length; i++) {
    let [flag, value] = argv[i].split(/=(.*)/s, 2);
    if (flag === "--help" || flag === "-h") {
      console.log(USAGE);
      process.exit(0);
    }
    const key = names[flag];
    if (key === undefined) throw new Error(`unknown flag ${flag}`);
    if (value === undefined) {
      if (i + 1 >= argv.length) throw new Error(`${flag} needs a value`);
      value = argv[++i];
    }
    args[key] = value;
  }
  if (!args.user) throw new Error("--user is required");
  args.maxUpdates = Number(args.maxUpdates);
  if (!Number.isInteger(args.maxUpdates) || args.maxUpdates < 0) {
    throw new Error("--max-updates must be a whole number");
  }
  return args;
}

function loadEventStore(protoRoot) {
  const definition = protoLoader.loadSync("healthwire/v1/healthwire.proto", {
    includeDirs: [protoRoot],
    keepCase: true,
    longs: String, // uint64 revisions, exactly
    enums: String,
    defaults: true,
    oneofs: true,
  });
  return grpc.loadPackageDefinition(definition).healthwire.v1.EventStore;
}

function deadline(seconds) {
  return new Date(Date.now() + seconds * 1000);
}

function describe(what, event, type) {
  return `${what} rev ${event.revision} ${type} key ${event.record_key} start ${event.start_time}`;
}

// Step 1: the newest record and the revision the store read it at (or, when
// there is none yet, the revision ListRecords read at).
function readCurrentState(client, subject, eventType, type) {
  return new Promise((resolve, reject) => {
    client.GetLatest(
      { subject, type: eventType, omit_raw_json: true },
      { deadline: deadline(10) },
      (error, latest) => {
        if (!error) {
          console.log(describe("latest", latest.event, type));
          resolve(BigInt(latest.store_revision));
          return;
        }
        if (error.code !== grpc.status.NOT_FOUND) {
          reject(new Error(`GetLatest: ${error.details}`));
          return;
        }
        client.ListRecords(
          { subject, type: eventType, page_size: 1 },
          { deadline: deadline(10) },
          (listError, listed) => {
            if (listError) {
              reject(new Error(`ListRecords: ${listError.details}`));
              return;
            }
            console.log(`no record yet (store revision ${listed.store_revision})`);
            resolve(BigInt(listed.store_revision));
          });
      });
  });
}

async function main() {
  let args;
  try {
    args = parseArgs(process.argv.slice(2));
  } catch (error) {
    console.error(`subscriber.js: ${error.message}\n${USAGE}`);
    return 2;
  }
  let EventStore;
  try {
    EventStore = loadEventStore(args.protoRoot);
  } catch (error) {
    console.error(`subscriber.js: cannot load healthwire/v1/healthwire.proto from --proto-root ` +
                  `${args.protoRoot}: ${error.message}`);
    return 2;
  }
  const client = new EventStore(args.store, grpc.credentials.createInsecure(), {
    "grpc.max_receive_message_length": MAX_MESSAGE_BYTES,
  });
  const eventType = "EVENT_TYPE_" + args.type.toUpperCase();
  const subject = { user_id: args.user };

  let revision;
  try {
    revision = await readCurrentState(client, subject, eventType, args.type);
  } catch (error) {
    console.error(error.message);
    return 1;
  }

  // Step 2: every later change, in revision order.
  const call = client.StreamUpdates({
    user_ids: [args.user],
    types: [eventType],
    start_revision: String(revision + 1n),
    progress_interval_ms: 1000,
  });
  return new Promise((resolve) => {
    let updates = 0;
    let done = false;
    call.on("data", (response) => {
      if (done || response.kind !== "update") return;
      console.log(describe("update", response.update, args.type));
      updates++;
      if (args.maxUpdates && updates >= args.maxUpdates) {
        done = true;
        call.cancel();
        resolve(0);
      }
    });
    call.on("error", (error) => {
      if (done) return;
      done = true;
      console.error(`StreamUpdates: ${error.details}`);
      resolve(1);
    });
    call.on("end", () => {
      if (done) return;
      done = true;
      resolve(0);
    });
  });
}

main().then((code) => process.exit(code));

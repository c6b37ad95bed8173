// A gRPC client in another language than the server: Node.js with grpc-js.
// Usage: node health_check.js HOST:PORT CA.crt CLIENT.crt CLIENT.key
// Prints one JSON line: {"status": "SERVING"} or {"code": N, "details": "..."}.
"use strict";

const fs = require("fs");
const path = require("path");
const grpc = require("@grpc/grpc-js");
const protoLoader = require("@grpc/proto-loader");

const [target, caPath, certPath, keyPath] = process.argv.slice(2);
const definition = protoLoader.loadSync(path.join(__dirname, "health.proto"), {
  enums: String,
});
const health = grpc.loadPackageDefinition(definition).grpc.health.v1;
const credentials = grpc.credentials.createSsl(
  fs.readFileSync(caPath),
  fs.readFileSync(keyPath),
  fs.readFileSync(certPath),
);
const client = new health.Health(target, credentials);
const deadline = new Date(Date.now() + 10000);
client.check({ service: "" }, { deadline }, (error, reply) => {
  if (error) {
    console.log(JSON.stringify({ code: error.code, details: error.details }));
  } else {
    console.log(JSON.stringify({ status: reply.status }));
  }
  client.close();
});

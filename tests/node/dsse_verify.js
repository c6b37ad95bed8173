// An independent DSSE v1 verifier: Node.js's own crypto, none of silkline's code.
// Usage: node dsse_verify.js ENVELOPE.json SIGNER-CERT.pem
// Prints one JSON line: {"verified", "keyid", "key_type", "payload_type", "pae_sha256", "signatures"}.
//
// PAE per secure-systems-lab/dsse protocol.md:
//   "DSSEv1" SP LEN(type) SP type SP LEN(body) SP body, LEN = decimal byte count.
// keyid per silkline: lowercase hex SHA-256 of the signer certificate's DER.
"use strict";

const crypto = require("crypto");
const fs = require("fs");

function pae(payloadType, body) {
  const type = Buffer.from(payloadType, "utf8");
  return Buffer.concat([
    Buffer.from(`DSSEv1 ${type.length} `, "ascii"),
    type,
    Buffer.from(` ${body.length} `, "ascii"),
    body,
  ]);
}

function verifies(publicKey, message, sig) {
  switch (publicKey.asymmetricKeyType) {
    case "ed25519":
      return crypto.verify(null, message, publicKey, sig);
    case "ec":
      // DSSE's ECDSA signatures are raw r||s (IEEE P1363), over SHA-256.
      return crypto.verify("sha256", message, { key: publicKey, dsaEncoding: "ieee-p1363" }, sig);
    default:
      throw new Error(`unsupported signer key type ${publicKey.asymmetricKeyType}`);
  }
}

const [envelopePath, certificatePath] = process.argv.slice(2);
const envelope = JSON.parse(fs.readFileSync(envelopePath, "utf8"));
const certificate = new crypto.X509Certificate(fs.readFileSync(certificatePath));
const keyid = crypto.createHash("sha256").update(certificate.raw).digest("hex");
const message = pae(envelope.payloadType, Buffer.from(envelope.payload, "base64"));

const signatures = envelope.signatures.map((signature) => ({
  keyid: signature.keyid === undefined ? "" : signature.keyid,
  verifies: verifies(certificate.publicKey, message, Buffer.from(signature.sig, "base64")),
}));

console.log(
  JSON.stringify({
    verified: signatures.some((s) => s.verifies && (s.keyid === "" || s.keyid === keyid)),
    keyid,
    key_type: certificate.publicKey.asymmetricKeyType,
    payload_type: envelope.payloadType,
    pae_sha256: crypto.createHash("sha256").update(message).digest("hex"),
    signatures,
  }),
);

// The gateway benchmark's handlers (benchmarks/_gateway_parts.py HANDLERS) in Node, for
// serverless-offline. serverless-offline's events say domainName "localhost" and stage "local"
// whatever it listens on, so the management endpoint comes from MANAGEMENT_ENDPOINT.
"use strict"

const {
  ApiGatewayManagementApiClient,
  PostToConnectionCommand,
} = require("@aws-sdk/client-apigatewaymanagementapi")

let client = null

exports.connect = async () => ({ statusCode: 200 })

exports.reply = async (event) => ({ statusCode: 200, body: event.body })

exports.whoami = async (event) => ({
  statusCode: 200,
  body: event.requestContext.connectionId,
})

exports.echo = async (event) => {
  if (client === null) {
    client = new ApiGatewayManagementApiClient({
      endpoint: process.env.MANAGEMENT_ENDPOINT,
      region: "us-east-1",
      credentials: { accessKeyId: "test", secretAccessKey: "test" },
    })
  }
  await client.send(
    new PostToConnectionCommand({
      ConnectionId: event.requestContext.connectionId,
      Data: Buffer.from(event.body),
    }),
  )
  return { statusCode: 200 }
}

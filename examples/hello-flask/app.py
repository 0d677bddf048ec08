"""A small Flask service: the example Container Kit containerizes in the README's Quick start."""

import os
import socket

from flask import Flask, jsonify

app = Flask(__name__)
GREETING = os.environ.get("GREETING", "Hello from a container")


@app.get("/")
def index():
    return jsonify(message=GREETING, host=socket.gethostname())


@app.get("/health")
def health():
    return jsonify(status="ok")


if __name__ == "__main__":
    app.run(host="0.0.0.0", port=int(os.environ.get("PORT", "8080")))

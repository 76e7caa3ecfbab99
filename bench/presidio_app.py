"""A Presidio service for bench/serve_load.sh: analyze and anonymize in one call (Presidio's own
REST images run them as two Flask services, `/analyze` and `/anonymize`, each under gunicorn
with one worker; one call here saves Presidio a hop). POST /redact {"text", "language"} ->
{"text", "items"}. The spaCy model comes from PRESIDIO_SPACY_MODEL (a package name or a path):
Presidio's default, en_core_web_lg, is not on the package registries this machine reaches.

    gunicorn -w 1 -b 127.0.0.1:3000 'presidio_app:create_app()'
"""

import os

from flask import Flask, jsonify, request


def create_app():
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_anonymizer import AnonymizerEngine

    model = os.environ.get("PRESIDIO_SPACY_MODEL", "en_core_web_lg")
    nlp = NlpEngineProvider(nlp_configuration={
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": model}],
    }).create_engine()
    analyzer = AnalyzerEngine(nlp_engine=nlp, supported_languages=["en"])
    anonymizer = AnonymizerEngine()
    app = Flask(__name__)

    @app.get("/health")
    def health():
        return "ok"

    @app.post("/redact")
    def redact():
        body = request.get_json(force=True)
        text = body["text"]
        found = analyzer.analyze(text=text, language=body.get("language", "en"))
        out = anonymizer.anonymize(text=text, analyzer_results=found)
        return jsonify({"text": out.text, "items": [
            {"start": i.start, "end": i.end, "entity_type": i.entity_type} for i in out.items]})

    return app

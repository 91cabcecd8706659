"""gen3d_serving: the SageMaker-compliant inference server of the gen3d container.

Layout (one concern a module):
  config      settings read once from the environment
  errors      the error taxonomy; every failure becomes a JSON response with a stable code
  schemas     pydantic request models for the three tasks
  images      bounded, bomb-safe image decoding and PNG mask encoding
  storage     S3 access confined to an allow-list of buckets and key prefixes
  cache       bounded in-memory LRU for image embeddings
  backends/   model backends behind one interface (sam3, sam3d, test)
  service     the task handlers (get_embedding, segment, generate_3d)
  app         the Flask WSGI app: /ping and /invocations
  serve       the gunicorn entry point (`python -m gen3d_serving serve`)
"""

__version__ = "0.1.0"

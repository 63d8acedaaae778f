"""Development and test helpers. Never imported by production code paths.

* ``fake_google``: a local fake of the Google endpoints we call (FCM v1 send, OAuth2 token,
  securetoken x509 certificates, Identity Toolkit ``accounts:*``).
* ``firebase_local``: points a real ``firebase_admin`` App at that fake.
"""

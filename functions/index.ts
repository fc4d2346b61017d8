/**
 * The Cloud Functions entry (`package.json` "main", for `functions-framework --source=.`).
 * The HTTP and Pub/Sub functions are registered here as they are built; the lock library they
 * share is `shared/`.
 */
export {};

/** The local stack's project id: "demo-" is Firebase's prefix for projects that exist only on emulators. */
export const LOCAL_PROJECT = 'demo-locking';

/** What the API report refuses (bad arguments, no build, a manifest it cannot read): exit 2, no stack. */
/* global module */ // Node's CommonJS globals: this file is not TypeScript.
'use strict';

class ApiReportError extends Error {
  constructor(message) {
    super(message);
    this.name = 'ApiReportError';
  }
}

module.exports = {ApiReportError};

// `express4` is Express 4 installed under an alias (a devDependency) to run the router tests on both
// majors; its API as used by the tests matches Express 5's types.
declare module "express4" {
  import express = require("express");
  export = express;
}
